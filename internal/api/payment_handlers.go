package api

import (
	"context"
	"net/http"

	"bursar/internal/audit"
	"bursar/internal/invoice"
	"bursar/internal/page"
)

// paymentResult answers a recorded payment: the payment and the invoice as
// it stands after it, whose status and totals the payment changed.
type paymentResult struct {
	Payment *invoice.Payment `json:"payment"`
	Invoice invoiceView      `json:"invoice"`
}

func (a *api) createPayment(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "inv", "invoice")
	if err != nil {
		return err
	}
	var in invoice.PaymentInput
	if err := decode(r, &in); err != nil {
		return err
	}
	var pay *invoice.Payment
	var inv *invoice.Invoice
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		pay, inv, err = a.Invoices.RecordPayment(ctx, c.orgID, id, in)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "payment.created", "payment", pay.ID, nil, pay)
	})
	if err != nil {
		return err
	}
	v, err := a.invoiceViewer(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, paymentResult{Payment: pay, Invoice: v.view(inv)})
	return nil
}

// listInvoicePayments lists the payments of one invoice; an invoice that
// is not the organization's is not found, rather than an empty list.
func (a *api) listInvoicePayments(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "inv", "invoice")
	if err != nil {
		return err
	}
	q := parseQuery(r)
	f := invoice.Filter{Params: q.page("pay"), InvoiceID: id}
	if err := q.err(); err != nil {
		return err
	}
	if _, err := a.Invoices.Get(r.Context(), c.orgID, id); err != nil {
		return err
	}
	return a.writePayments(w, r, c, f)
}

func (a *api) listPayments(w http.ResponseWriter, r *http.Request, c caller) error {
	q := parseQuery(r, "invoice_id", "customer_id", "date_from", "date_to")
	f := invoice.Filter{Params: q.page("pay"), InvoiceID: q.id("invoice_id", "inv"), CustomerID: q.id("customer_id", "cus"),
		From: q.date("date_from"), To: q.date("date_to")}
	q.dateRange("date_from", f.From, f.To)
	if err := q.err(); err != nil {
		return err
	}
	return a.writePayments(w, r, c, f)
}

func (a *api) writePayments(w http.ResponseWriter, r *http.Request, c caller, f invoice.Filter) error {
	l, err := fetchList(f.Params, func(pay *invoice.Payment) string { return pay.ID }, func(p page.Params) ([]*invoice.Payment, error) {
		f.Params = p
		return a.Invoices.ListPayments(r.Context(), c.orgID, f)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (a *api) getPayment(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "pay", "payment")
	if err != nil {
		return err
	}
	p, err := a.Invoices.GetPayment(r.Context(), c.orgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
