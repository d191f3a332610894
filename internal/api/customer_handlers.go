package api

import (
	"context"
	"net/http"

	"bursar/internal/audit"
	"bursar/internal/customer"
	"bursar/internal/money"
	"bursar/internal/page"
)

// customerView is a customer as the API shows it, with its credit balance
// as an amount of its currency.
type customerView struct {
	*customer.Customer
	CreditBalance money.Decimal `json:"credit_balance"`
}

func viewCustomer(c *customer.Customer) customerView {
	return customerView{Customer: c, CreditBalance: c.Currency.Amount(c.CreditBalance)}
}

func (a *api) createCustomer(w http.ResponseWriter, r *http.Request, c caller) error {
	var in customer.Input
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := a.Orgs.GetOrganization(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	var cus *customer.Customer
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		cus, err = a.Customers.Create(ctx, c.orgID, o.DefaultCurrency, in)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "customer.created", "customer", cus.ID, nil, viewCustomer(cus))
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, viewCustomer(cus))
	return nil
}

func (a *api) listCustomers(w http.ResponseWriter, r *http.Request, c caller) error {
	q := parseQuery(r, "email", "tax_id")
	f := customer.Filter{Params: q.page("cus"), Email: q.str("email"), TaxID: q.str("tax_id")}
	if err := q.err(); err != nil {
		return err
	}
	l, err := fetchList(f.Params, func(cus *customer.Customer) string { return cus.ID }, func(p page.Params) ([]*customer.Customer, error) {
		f.Params = p
		return a.CustomerStore.ListCustomers(r.Context(), c.orgID, f)
	})
	if err != nil {
		return err
	}
	writeList(w, l, viewCustomer)
	return nil
}

func (a *api) getCustomer(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "cus", "customer")
	if err != nil {
		return err
	}
	cus, err := a.CustomerStore.GetCustomer(r.Context(), c.orgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewCustomer(cus))
	return nil
}

func (a *api) updateCustomer(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "cus", "customer")
	if err != nil {
		return err
	}
	cus, err := a.CustomerStore.GetCustomer(r.Context(), c.orgID, id)
	if err != nil {
		return err
	}
	in := customer.InputOf(cus)
	if err := decode(r, &in); err != nil {
		return err
	}
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		before, err := a.CustomerStore.GetCustomer(ctx, c.orgID, id)
		if err != nil {
			return nil, err
		}
		cus, err = a.Customers.Update(ctx, c.orgID, id, in)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "customer.updated", "customer", id, viewCustomer(before), viewCustomer(cus))
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewCustomer(cus))
	return nil
}

func (a *api) deleteCustomer(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "cus", "customer")
	if err != nil {
		return err
	}
	if err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		if err := a.CustomerStore.DeleteCustomer(ctx, c.orgID, id); err != nil {
			return nil, err
		}
		return a.entryOf(c, "customer.deleted", "customer", id, nil, nil)
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
