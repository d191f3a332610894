package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"bursar/internal/audit"
	"bursar/internal/errs"
	"bursar/internal/privacy"
)

// errNoPrivacy answers the data protection routes on a server wired
// without them (tests that wire only part of the API).
var errNoPrivacy = errs.E(errs.NotFound, "not_found", "this server does not serve data protection requests")

// exportCustomer answers a data subject's request for access (GDPR
// articles 15 and 20): everything held about the customer as JSON.
func (a *api) exportCustomer(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.Privacy == nil {
		return errNoPrivacy
	}
	id, err := pathID(r, "cus", "customer")
	if err != nil {
		return err
	}
	x, err := a.Privacy.Export(r.Context(), c.orgID, id)
	if err != nil {
		return err
	}
	// The export leaves the organization's hands: its audit log says who
	// took it. It changes nothing, so it stands alone, like a refusal.
	a.securityEvent(r, c, &audit.Entry{Action: "customer.exported", ObjectType: "customer", ObjectID: id})
	w.Header().Set("Content-Disposition", `attachment; filename="`+id+`.json"`)
	writeJSON(w, http.StatusOK, x)
	return nil
}

// eraseCustomer erases the customer's personal data where no law requires
// it to be kept (GDPR article 17). A repeated call answers the same
// outcome, with already_erased set, and records nothing more.
func (a *api) eraseCustomer(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.Privacy == nil {
		return errNoPrivacy
	}
	id, err := pathID(r, "cus", "customer")
	if err != nil {
		return err
	}
	var out *privacy.Erasure
	err = a.Audit.Store.InTx(r.Context(), func(ctx context.Context) error {
		er, e, err := a.Privacy.Erase(ctx, c.orgID, id)
		if err != nil {
			return err
		}
		out = er
		if e == nil {
			return nil
		}
		a.stamp(r, c, e)
		return a.Audit.Append(ctx, e)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// retentionView is an organization's retention periods.
type retentionView struct {
	Object string           `json:"object"`
	Data   []privacy.Policy `json:"data"`
}

func (a *api) getRetention(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.Privacy == nil {
		return errNoPrivacy
	}
	ps, err := a.Privacy.Retention(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, retentionView{Object: "retention", Data: ps})
	return nil
}

// setRetention sets the retention period, in years, of the classes the
// body names ({"invoices": 10}); the others keep theirs.
func (a *api) setRetention(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.Privacy == nil {
		return errNoPrivacy
	}
	var body struct {
		Invoices    *int `json:"invoices"`
		CreditNotes *int `json:"credit_notes"`
		Payments    *int `json:"payments"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	in := map[privacy.Class]int{}
	for c, y := range map[privacy.Class]*int{privacy.Invoices: body.Invoices, privacy.CreditNotes: body.CreditNotes, privacy.Payments: body.Payments} {
		if y != nil {
			in[c] = *y
		}
	}
	if len(in) == 0 {
		var f errs.Fields
		f.Add("invoices", "name at least one class: invoices, credit_notes or payments")
		return f.Err()
	}
	var after []privacy.Policy
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		before, aft, err := a.Privacy.SetRetention(ctx, c.orgID, in)
		if err != nil {
			return nil, err
		}
		after = aft
		e := &audit.Entry{Action: "organization.retention_updated", ObjectType: "organization", ObjectID: c.orgID}
		for i, p := range aft {
			if p.Years != before[i].Years || before[i].Default {
				e.Fields = append(e.Fields, audit.Field{Name: "retention." + string(p.Class), Value: json.RawMessage(strconv.Itoa(p.Years))})
			}
		}
		return e, nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, retentionView{Object: "retention", Data: after})
	return nil
}
