package api

import (
	"net/http"

	"bursar/internal/catalog"
	"bursar/internal/page"
)

func (a *api) createTaxRate(w http.ResponseWriter, r *http.Request, c caller) error {
	var in catalog.TaxRateInput
	if err := decode(r, &in); err != nil {
		return err
	}
	t, err := a.Catalog.CreateTaxRate(r.Context(), c.orgID, in)
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
	t, err = a.Catalog.UpdateTaxRate(r.Context(), c.orgID, id, in)
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
	if err := a.CatalogStore.DeleteTaxRate(r.Context(), c.orgID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
