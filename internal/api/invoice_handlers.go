package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"bursar/internal/audit"
	"bursar/internal/invoice"
	"bursar/internal/page"
)

// invoiceView is an invoice as the API shows it, with whether it is
// overdue today in the organization's time zone.
type invoiceView struct {
	*invoice.Invoice
	Overdue bool `json:"overdue"`
}

// invoiceViewer makes invoice views for one organization at one moment.
type invoiceViewer struct {
	now      time.Time
	timeZone string
}

func (a *api) invoiceViewer(ctx context.Context, orgID string) (invoiceViewer, error) {
	tz, err := a.timeZoneOf(ctx, orgID)
	if err != nil {
		return invoiceViewer{}, err
	}
	return invoiceViewer{now: a.Now(), timeZone: tz}, nil
}

func (v invoiceViewer) view(inv *invoice.Invoice) invoiceView {
	return invoiceView{Invoice: inv, Overdue: inv.IsOverdue(v.now, v.timeZone)}
}

// writeInvoice answers one invoice.
func (a *api) writeInvoice(w http.ResponseWriter, r *http.Request, c caller, status int, inv *invoice.Invoice) error {
	v, err := a.invoiceViewer(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	writeJSON(w, status, v.view(inv))
	return nil
}

var invoiceStatuses = []invoice.Status{invoice.StatusDraft, invoice.StatusOpen, invoice.StatusPaid, invoice.StatusVoid, invoice.StatusUncollectible}

func (a *api) createInvoice(w http.ResponseWriter, r *http.Request, c caller) error {
	var in invoice.Input
	if err := decode(r, &in); err != nil {
		return err
	}
	var inv *invoice.Invoice
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		var err error
		inv, err = a.Invoices.Create(ctx, c.orgID, in)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "invoice.created", "invoice", inv.ID, nil, inv)
	})
	if err != nil {
		return err
	}
	return a.writeInvoice(w, r, c, http.StatusCreated, inv)
}

func (a *api) listInvoices(w http.ResponseWriter, r *http.Request, c caller) error {
	q := parseQuery(r, "status", "customer_id", "issue_date_from", "issue_date_to")
	f := invoice.Filter{Params: q.page("inv"), Status: invoice.Status(q.str("status")), CustomerID: q.id("customer_id", "cus"),
		From: q.date("issue_date_from"), To: q.date("issue_date_to")}
	if f.Status != "" && !slices.Contains(invoiceStatuses, f.Status) {
		q.f.Add("status", "must be one of draft, open, paid, void, uncollectible")
	}
	q.dateRange("issue_date_from", f.From, f.To)
	if err := q.err(); err != nil {
		return err
	}
	l, err := fetchList(f.Params, func(inv *invoice.Invoice) string { return inv.ID }, func(p page.Params) ([]*invoice.Invoice, error) {
		f.Params = p
		return a.Invoices.List(r.Context(), c.orgID, f)
	})
	if err != nil {
		return err
	}
	v, err := a.invoiceViewer(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	writeList(w, l, v.view)
	return nil
}

// updateInvoice changes a draft: the body is decoded over the draft's
// current input, so absent fields keep their value and lines, when given,
// replace all lines. The service refuses a finalized invoice
// (409 invoice_finalized). Reading the draft and writing it back are one
// transaction, so that two PATCHes of different fields both count; the
// body is read before it begins, so that a slow client holds no lock.
func (a *api) updateInvoice(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "inv", "invoice")
	if err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	var inv *invoice.Invoice
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		cur, err := a.Invoices.Store.GetInvoice(ctx, c.orgID, id, true)
		if err != nil {
			return nil, err
		}
		in := invoice.InputOf(cur)
		if err := decodeJSON(body, &in); err != nil {
			return nil, err
		}
		inv, err = a.Invoices.Update(ctx, c.orgID, id, in)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "invoice.updated", "invoice", id, cur, inv)
	})
	if err != nil {
		return err
	}
	return a.writeInvoice(w, r, c, http.StatusOK, inv)
}

func (a *api) deleteInvoice(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "inv", "invoice")
	if err != nil {
		return err
	}
	if err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		if err := a.Invoices.Delete(ctx, c.orgID, id); err != nil {
			return nil, err
		}
		return a.entryOf(c, "invoice.deleted", "invoice", id, nil, nil)
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// invoiceAction serves the POSTs that move an invoice through its
// lifecycle; they take no input.
func (a *api) invoiceAction(action string, act func(ctx context.Context, orgID, id string) (*invoice.Invoice, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c caller) error {
		id, err := pathID(r, "inv", "invoice")
		if err != nil {
			return err
		}
		if err := decodeEmpty(r); err != nil {
			return err
		}
		var inv *invoice.Invoice
		err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
			// The invoice as the transition loaded it under lock is the
			// "before" of the audit entry: no second read.
			var before json.RawMessage
			var berr error
			ctx = invoice.WithLoaded(ctx, func(loaded *invoice.Invoice) { before, berr = json.Marshal(loaded) })
			inv, err = act(ctx, c.orgID, id)
			if err != nil {
				return nil, err
			}
			if before == nil || berr != nil {
				return nil, fmt.Errorf("api: %s %s: the invoice before the change: %v", action, id, berr)
			}
			return a.entryOf(c, action, "invoice", id, before, inv)
		})
		if err != nil {
			return err
		}
		return a.writeInvoice(w, r, c, http.StatusOK, inv)
	}
}
