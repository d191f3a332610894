package api

import (
	"context"
	"net/http"

	"bursar/internal/audit"
	"bursar/internal/catalog"
	"bursar/internal/page"
)

func (a *api) createTaxRate(w http.ResponseWriter, r *http.Request, c caller) error {
	var in catalog.TaxRateInput
	if err := decode(r, &in); err != nil {
		return err
	}
	var t *catalog.TaxRate
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		var err error
		t, err = a.Catalog.CreateTaxRate(ctx, c.orgID, in)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "tax_rate.created", "tax_rate", t.ID, nil, t)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (a *api) listTaxRates(w http.ResponseWriter, r *http.Request, c caller) error {
	q := parseQuery(r)
	p := q.page("txr")
	if err := q.err(); err != nil {
		return err
	}
	l, err := fetchList(p, func(t *catalog.TaxRate) string { return t.ID }, func(p page.Params) ([]*catalog.TaxRate, error) {
		return a.CatalogStore.ListTaxRates(r.Context(), c.orgID, p)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (a *api) getTaxRate(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "txr", "tax rate")
	if err != nil {
		return err
	}
	t, err := a.CatalogStore.GetTaxRate(r.Context(), c.orgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (a *api) updateTaxRate(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "txr", "tax rate")
	if err != nil {
		return err
	}
	t, err := a.CatalogStore.GetTaxRate(r.Context(), c.orgID, id)
	if err != nil {
		return err
	}
	in := catalog.TaxRateInputOf(t)
	if err := decode(r, &in); err != nil {
		return err
	}
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		before, err := a.CatalogStore.GetTaxRate(ctx, c.orgID, id)
		if err != nil {
			return nil, err
		}
		t, err = a.Catalog.UpdateTaxRate(ctx, c.orgID, id, in)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "tax_rate.updated", "tax_rate", id, before, t)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (a *api) deleteTaxRate(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "txr", "tax rate")
	if err != nil {
		return err
	}
	if err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		if err := a.CatalogStore.DeleteTaxRate(ctx, c.orgID, id); err != nil {
			return nil, err
		}
		return a.entryOf(c, "tax_rate.deleted", "tax_rate", id, nil, nil)
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
