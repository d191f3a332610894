package sqlstore

import (
	"context"

	"bursar/internal/catalog"
	"bursar/internal/page"
)

// productSet are the columns of a product that an update replaces.
const productSet = "name, description, unit, unit_price, currency, tax_rate_ids, active, updated_at"

const productCols = "id, org_id, created_at, " + productSet

var (
	insertProductSQL = insertSQL("products", productCols)
	updateProductSQL = "UPDATE products SET " + assignSQL(productSet) + " WHERE org_id = ? AND id = ?"
)

func productSetArgs(p *catalog.Product) ([]any, error) {
	ids, err := jsonText(p.TaxRateIDs)
	if err != nil {
		return nil, err
	}
	return []any{p.Name, p.Description, p.Unit, p.UnitPrice, p.Currency, ids, p.Active, stamp(&p.UpdatedAt)}, nil
}

func scanProduct(sc scanner) (*catalog.Product, error) {
	var p catalog.Product
	return &p, sc.Scan(&p.ID, &p.OrgID, timeDest{&p.CreatedAt}, &p.Name, &p.Description, &p.Unit, &p.UnitPrice,
		&p.Currency, jsonDest{&p.TaxRateIDs}, &p.Active, timeDest{&p.UpdatedAt})
}

// InsertProduct stores a new product.
func (s *Store) InsertProduct(ctx context.Context, p *catalog.Product) error {
	set, err := productSetArgs(p)
	if err != nil {
		return s.fail(err, "insert", "product", p.ID)
	}
	if _, err := s.exec(ctx, insertProductSQL, append([]any{p.ID, p.OrgID, stamp(&p.CreatedAt)}, set...)...); err != nil {
		return s.fail(err, "insert", "product", p.ID)
	}
	return nil
}

// UpdateProduct replaces a product's fields.
func (s *Store) UpdateProduct(ctx context.Context, p *catalog.Product) error {
	set, err := productSetArgs(p)
	if err != nil {
		return s.fail(err, "update", "product", p.ID)
	}
	n, err := s.exec(ctx, updateProductSQL, append(set, p.OrgID, p.ID)...)
	if err != nil {
		return s.fail(err, "update", "product", p.ID)
	}
	return touched(n, "product", p.ID)
}

// GetProduct reads a product of the organization.
func (s *Store) GetProduct(ctx context.Context, orgID, id string) (*catalog.Product, error) {
	p, err := scanProduct(s.queryRow(ctx, "SELECT "+productCols+" FROM products WHERE org_id = ? AND id = ?", orgID, id))
	if err := s.getOne(err, "product", id); err != nil {
		return nil, err
	}
	return p, nil
}

// DeleteProduct deletes a product. Documents keep their own copy of what
// they sold, so no document stops it.
func (s *Store) DeleteProduct(ctx context.Context, orgID, id string) error {
	n, err := s.exec(ctx, "DELETE FROM products WHERE org_id = ? AND id = ?", orgID, id)
	if err != nil {
		return s.fail(err, "delete", "product", id)
	}
	return touched(n, "product", id)
}

// ListProducts lists the organization's products, newest first.
func (s *Store) ListProducts(ctx context.Context, orgID string, p page.Params) ([]*catalog.Product, error) {
	q, args := newList(orgID).sql(productCols, "products", p)
	return list(ctx, s, "products", q, args, scanProduct)
}

// taxRateSet are the columns of a tax rate that an update replaces.
const taxRateSet = "name, percentage, category, exemption_reason, exemption_reason_code, country, active, updated_at"

const taxRateCols = "id, org_id, created_at, " + taxRateSet

var (
	insertTaxRateSQL = insertSQL("tax_rates", taxRateCols)
	updateTaxRateSQL = "UPDATE tax_rates SET " + assignSQL(taxRateSet) + " WHERE org_id = ? AND id = ?"
)

func taxRateSetArgs(t *catalog.TaxRate) []any {
	return []any{t.Name, t.Percentage, t.Category, t.ExemptionReason, t.ExemptionReasonCode, t.Country, t.Active, stamp(&t.UpdatedAt)}
}

func scanTaxRate(sc scanner) (*catalog.TaxRate, error) {
	var t catalog.TaxRate
	return &t, sc.Scan(&t.ID, &t.OrgID, timeDest{&t.CreatedAt}, &t.Name, &t.Percentage, &t.Category,
		&t.ExemptionReason, &t.ExemptionReasonCode, &t.Country, &t.Active, timeDest{&t.UpdatedAt})
}

// InsertTaxRate stores a new tax rate.
func (s *Store) InsertTaxRate(ctx context.Context, t *catalog.TaxRate) error {
	args := append([]any{t.ID, t.OrgID, stamp(&t.CreatedAt)}, taxRateSetArgs(t)...)
	if _, err := s.exec(ctx, insertTaxRateSQL, args...); err != nil {
		return s.fail(err, "insert", "tax rate", t.ID)
	}
	return nil
}

// UpdateTaxRate replaces a tax rate's fields. Documents keep the copy of
// the rate they were written with.
func (s *Store) UpdateTaxRate(ctx context.Context, t *catalog.TaxRate) error {
	n, err := s.exec(ctx, updateTaxRateSQL, append(taxRateSetArgs(t), t.OrgID, t.ID)...)
	if err != nil {
		return s.fail(err, "update", "tax rate", t.ID)
	}
	return touched(n, "tax rate", t.ID)
}

// GetTaxRate reads a tax rate of the organization.
func (s *Store) GetTaxRate(ctx context.Context, orgID, id string) (*catalog.TaxRate, error) {
	t, err := scanTaxRate(s.queryRow(ctx, "SELECT "+taxRateCols+" FROM tax_rates WHERE org_id = ? AND id = ?", orgID, id))
	if err := s.getOne(err, "tax rate", id); err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteTaxRate deletes a tax rate. Documents and products keep their own
// reference or copy, so none stops it.
func (s *Store) DeleteTaxRate(ctx context.Context, orgID, id string) error {
	n, err := s.exec(ctx, "DELETE FROM tax_rates WHERE org_id = ? AND id = ?", orgID, id)
	if err != nil {
		return s.fail(err, "delete", "tax rate", id)
	}
	return touched(n, "tax rate", id)
}

// ListTaxRates lists the organization's tax rates, newest first.
func (s *Store) ListTaxRates(ctx context.Context, orgID string, p page.Params) ([]*catalog.TaxRate, error) {
	q, args := newList(orgID).sql(taxRateCols, "tax_rates", p)
	return list(ctx, s, "tax rates", q, args, scanTaxRate)
}
