package api

import (
	"context"
	"net/http"

	"bursar/internal/audit"
	"bursar/internal/catalog"
	"bursar/internal/page"
)

func (a *api) createProduct(w http.ResponseWriter, r *http.Request, c caller) error {
	var in catalog.ProductInput
	if err := decode(r, &in); err != nil {
		return err
	}
	o, err := a.Orgs.GetOrganization(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	var p *catalog.Product
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		p, err = a.Catalog.CreateProduct(ctx, c.orgID, o.DefaultCurrency, in)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "product.created", "product", p.ID, nil, p)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func (a *api) listProducts(w http.ResponseWriter, r *http.Request, c caller) error {
	q := parseQuery(r)
	p := q.page("prod")
	if err := q.err(); err != nil {
		return err
	}
	l, err := fetchList(p, func(prod *catalog.Product) string { return prod.ID }, func(p page.Params) ([]*catalog.Product, error) {
		return a.CatalogStore.ListProducts(r.Context(), c.orgID, p)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (a *api) getProduct(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "prod", "product")
	if err != nil {
		return err
	}
	p, err := a.CatalogStore.GetProduct(r.Context(), c.orgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *api) updateProduct(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "prod", "product")
	if err != nil {
		return err
	}
	p, err := a.CatalogStore.GetProduct(r.Context(), c.orgID, id)
	if err != nil {
		return err
	}
	in := catalog.ProductInputOf(p)
	if err := decode(r, &in); err != nil {
		return err
	}
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		before, err := a.CatalogStore.GetProduct(ctx, c.orgID, id)
		if err != nil {
			return nil, err
		}
		p, err = a.Catalog.UpdateProduct(ctx, c.orgID, id, in)
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "product.updated", "product", id, before, p)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *api) deleteProduct(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "prod", "product")
	if err != nil {
		return err
	}
	if err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		if err := a.CatalogStore.DeleteProduct(ctx, c.orgID, id); err != nil {
			return nil, err
		}
		return a.entryOf(c, "product.deleted", "product", id, nil, nil)
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
