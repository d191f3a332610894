package sqlstore

import (
	"context"

	"bursar/internal/org"
)

// orgSet are the columns of an organization that an update replaces.
const orgSet = "name, email, " + addressCols + ", vat_id, tax_id, default_currency, time_zone, locale, " +
	"invoice_series, credit_note_series, updated_at"

const orgCols = "id, created_at, " + orgSet

var (
	insertOrgSQL = insertSQL("organizations", orgCols)
	updateOrgSQL = "UPDATE organizations SET " + assignSQL(orgSet) + " WHERE id = ?"
)

// orgSetArgs seals the email, address lines and tax ids of the organization
// (a sole trader's are personal data),
// with its own keys: its row id is its organization.
func (s *Store) orgSetArgs(ctx context.Context, o *org.Organization) ([]any, error) {
	x := s.sealer(ctx, o.ID, "organizations", o.ID)
	args := []any{o.Name, x.text("email", o.Email)}
	args = append(args, x.address(o.Address)...)
	args = append(args, x.text("vat_id", o.VATID), x.text("tax_id", o.TaxID), o.DefaultCurrency, o.TimeZone, o.Locale,
		o.InvoiceSeries, o.CreditNoteSeries, stamp(&o.UpdatedAt))
	return args, x.err
}

func (s *Store) scanOrg(ctx context.Context, sc scanner) (*org.Organization, error) {
	var o org.Organization
	dests := []any{&o.ID, timeDest{&o.CreatedAt}, &o.Name, &o.Email}
	dests = append(dests, addressDests(&o.Address)...)
	dests = append(dests, &o.VATID, &o.TaxID, &o.DefaultCurrency, &o.TimeZone, &o.Locale,
		&o.InvoiceSeries, &o.CreditNoteSeries, timeDest{&o.UpdatedAt})
	if err := sc.Scan(dests...); err != nil {
		return nil, err
	}
	x := s.opener(ctx, o.ID, "organizations", o.ID)
	x.open("email", &o.Email)
	x.openAddress(&o.Address)
	x.open("vat_id", &o.VATID)
	x.open("tax_id", &o.TaxID)
	return &o, x.err
}

// InsertOrganization stores a new organization.
func (s *Store) InsertOrganization(ctx context.Context, o *org.Organization) error {
	set, err := s.orgSetArgs(ctx, o)
	if err != nil {
		return s.fail(err, "insert", "organization", o.ID)
	}
	args := append([]any{o.ID, stamp(&o.CreatedAt)}, set...)
	if _, err := s.exec(ctx, insertOrgSQL, args...); err != nil {
		return s.fail(err, "insert", "organization", o.ID)
	}
	return nil
}

// GetOrganization reads an organization.
func (s *Store) GetOrganization(ctx context.Context, id string) (*org.Organization, error) {
	o, err := s.scanOrg(ctx, s.queryRow(ctx, "SELECT "+orgCols+" FROM organizations WHERE id = ?", id))
	if err := s.getOne(err, "organization", id); err != nil {
		return nil, err
	}
	return o, nil
}

// UpdateOrganization replaces an organization's fields but its id and
// creation time.
func (s *Store) UpdateOrganization(ctx context.Context, o *org.Organization) error {
	set, err := s.orgSetArgs(ctx, o)
	if err != nil {
		return s.fail(err, "update", "organization", o.ID)
	}
	n, err := s.exec(ctx, updateOrgSQL, append(set, o.ID)...)
	if err != nil {
		return s.fail(err, "update", "organization", o.ID)
	}
	return touched(n, "organization", o.ID)
}
