package api

import (
	"context"
	"net/http"

	"bursar/internal/audit"
	"bursar/internal/invoice"
	"bursar/internal/page"
)

func (a *api) createCreditNote(w http.ResponseWriter, r *http.Request, c caller) error {
	var in invoice.CreditNoteInput
	if err := decode(r, &in); err != nil {
		return err
	}
	var cn *invoice.CreditNote
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		var err error
		cn, err = a.Invoices.CreateCreditNote(ctx, c.orgID, in)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "credit_note.created", "credit_note", cn.ID, nil, cn)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, cn)
	return nil
}

func (a *api) listCreditNotes(w http.ResponseWriter, r *http.Request, c caller) error {
	q := parseQuery(r, "invoice_id", "issue_date_from", "issue_date_to")
	f := invoice.Filter{Params: q.page("cn"), InvoiceID: q.id("invoice_id", "inv"),
		From: q.date("issue_date_from"), To: q.date("issue_date_to")}
	q.dateRange("issue_date_from", f.From, f.To)
	if err := q.err(); err != nil {
		return err
	}
	l, err := fetchList(f.Params, func(cn *invoice.CreditNote) string { return cn.ID }, func(p page.Params) ([]*invoice.CreditNote, error) {
		f.Params = p
		return a.Invoices.ListCreditNotes(r.Context(), c.orgID, f)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (a *api) getCreditNote(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "cn", "credit note")
	if err != nil {
		return err
	}
	cn, err := a.Invoices.GetCreditNote(r.Context(), c.orgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cn)
	return nil
}
