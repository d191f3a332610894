package catalog

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"

	"bursar/internal/errs"
	"bursar/internal/ident"
	"bursar/internal/money"
	"bursar/internal/page"
	"bursar/internal/party"
)

// Store is what the catalog package needs from storage; see invoice.Store
// for the conventions every store follows.
type Store interface {
	InsertProduct(ctx context.Context, p *Product) error
	UpdateProduct(ctx context.Context, p *Product) error
	GetProduct(ctx context.Context, orgID, id string) (*Product, error)
	DeleteProduct(ctx context.Context, orgID, id string) error
	ListProducts(ctx context.Context, orgID string, f page.Params) ([]*Product, error)

	InsertTaxRate(ctx context.Context, t *TaxRate) error
	UpdateTaxRate(ctx context.Context, t *TaxRate) error
	GetTaxRate(ctx context.Context, orgID, id string) (*TaxRate, error)
	DeleteTaxRate(ctx context.Context, orgID, id string) error
	ListTaxRates(ctx context.Context, orgID string, f page.Params) ([]*TaxRate, error)
}

// Service runs the catalog rules against a Store.
type Service struct {
	Store Store
	Now   func() time.Time
}

// Categories are the UNCL5305 tax category codes EN 16931 uses, each with
// whether it needs an exemption reason and whether its rate must be zero.
var Categories = map[string]struct{ NeedsReason, ZeroRate bool }{
	"S":  {false, false}, // standard rate
	"Z":  {false, true},  // zero rated goods
	"E":  {true, true},   // exempt from tax
	"AE": {true, true},   // VAT reverse charge
	"K":  {true, true},   // intra-community supply
	"G":  {true, true},   // export outside the EU
	"O":  {true, true},   // services outside scope of tax
	"L":  {false, false}, // Canary Islands IGIC
	"M":  {false, false}, // Ceuta and Melilla IPSI
}

var unitRE = regexp.MustCompile(`^[A-Z0-9]{2,3}$`)

// hundred bounds tax percentages.
var hundred = money.NewFromInt(100)

// ValidUnit reports whether u has the shape of a UN/ECE Recommendation 20
// (or 21) unit code such as C62, HUR or KWH.
func ValidUnit(u string) bool { return unitRE.MatchString(u) }

// TaxRateInput is the writable part of a tax rate.
type TaxRateInput struct {
	Name                string `json:"name"`
	Percentage          string `json:"percentage"`
	Category            string `json:"category"`
	ExemptionReason     string `json:"exemption_reason"`
	ExemptionReasonCode string `json:"exemption_reason_code"`
	Country             string `json:"country"`
	Active              *bool  `json:"active"`
}

// TaxRateInputOf returns the writable part of t.
func TaxRateInputOf(t *TaxRate) TaxRateInput {
	active := t.Active
	return TaxRateInput{Name: t.Name, Percentage: t.Percentage.String(), Category: t.Category,
		ExemptionReason: t.ExemptionReason, ExemptionReasonCode: t.ExemptionReasonCode, Country: t.Country, Active: &active}
}

func (in TaxRateInput) apply(t *TaxRate) error {
	var f errs.Fields
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 100 {
		f.Add("name", "is required and must be at most 100 characters")
	}
	pct, err := money.Parse(in.Percentage)
	switch {
	case err != nil:
		f.Add("percentage", "must be a decimal string such as \"19\" or \"9.975\"")
	case pct.Sign() < 0 || pct.Cmp(hundred) > 0:
		f.Add("percentage", "must be between 0 and 100")
	case pct.Scale() > 4:
		f.Add("percentage", "must have at most 4 fraction digits")
	}
	cat, ok := Categories[in.Category]
	switch {
	case !ok:
		f.Add("category", "must be a UNCL5305 code: S, Z, E, AE, K, G, O, L or M")
	case cat.ZeroRate && err == nil && !pct.IsZero():
		f.Add("percentage", "must be 0 for category %s", in.Category)
	case !cat.ZeroRate && in.Category != "L" && in.Category != "M" && err == nil && pct.IsZero():
		f.Add("percentage", "must be above 0 for category %s; use Z for zero-rated", in.Category)
	case cat.NeedsReason && in.ExemptionReason == "" && in.ExemptionReasonCode == "":
		f.Add("exemption_reason", "is required for category %s (EN 16931 BR-%s-10)", in.Category, in.Category)
	}
	if len(in.ExemptionReason) > 300 {
		f.Add("exemption_reason", "must be at most 300 characters")
	}
	if in.ExemptionReasonCode != "" && !strings.HasPrefix(in.ExemptionReasonCode, "VATEX-") {
		f.Add("exemption_reason_code", "must be a VATEX code such as VATEX-EU-AE")
	}
	if in.Country != "" && !party.ValidCountry(in.Country) {
		f.Add("country", "must be an ISO 3166-1 alpha-2 code such as DE")
	}
	if err := f.Err(); err != nil {
		return err
	}
	t.Name, t.Percentage, t.Category = in.Name, pct, in.Category
	t.ExemptionReason, t.ExemptionReasonCode, t.Country = in.ExemptionReason, in.ExemptionReasonCode, in.Country
	t.Active = in.Active == nil || *in.Active
	return nil
}

// CreateTaxRate validates in and stores a new tax rate.
func (s *Service) CreateTaxRate(ctx context.Context, orgID string, in TaxRateInput) (*TaxRate, error) {
	now := s.Now().UTC()
	t := &TaxRate{OrgID: orgID}
	if err := in.apply(t); err != nil {
		return nil, err
	}
	t.ID, t.CreatedAt, t.UpdatedAt = ident.New("txr", now), now, now
	if err := s.Store.InsertTaxRate(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// UpdateTaxRate replaces a tax rate's writable fields. Documents already
// written keep their own copy of the rate.
func (s *Service) UpdateTaxRate(ctx context.Context, orgID, id string, in TaxRateInput) (*TaxRate, error) {
	t, err := s.Store.GetTaxRate(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if err := in.apply(t); err != nil {
		return nil, err
	}
	t.UpdatedAt = s.Now().UTC()
	return t, s.Store.UpdateTaxRate(ctx, t)
}

// ProductInput is the writable part of a product.
type ProductInput struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Unit        string   `json:"unit"`
	UnitPrice   string   `json:"unit_price"`
	Currency    string   `json:"currency"`
	TaxRateIDs  []string `json:"tax_rate_ids"`
	Active      *bool    `json:"active"`
}

// ProductInputOf returns the writable part of p.
func ProductInputOf(p *Product) ProductInput {
	active := p.Active
	return ProductInput{Name: p.Name, Description: p.Description, Unit: p.Unit, UnitPrice: p.UnitPrice.String(),
		Currency: string(p.Currency), TaxRateIDs: p.TaxRateIDs, Active: &active}
}

// maxPrice bounds unit prices: |price| < 10^15.
var maxPrice = money.New(1, -15)

func (s *Service) applyProduct(ctx context.Context, orgID string, in ProductInput, p *Product, defaultCurrency money.Currency) error {
	var f errs.Fields
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 200 {
		f.Add("name", "is required and must be at most 200 characters")
	}
	if len(in.Description) > 2000 {
		f.Add("description", "must be at most 2000 characters")
	}
	if in.Unit == "" {
		in.Unit = "C62"
	}
	if !ValidUnit(in.Unit) {
		f.Add("unit", "must be a UN/ECE Recommendation 20 code such as C62, HUR or KWH")
	}
	price, err := money.Parse(in.UnitPrice)
	switch {
	case err != nil:
		f.Add("unit_price", "must be a decimal string such as \"125.00\"")
	case price.Abs().Cmp(maxPrice) >= 0:
		f.Add("unit_price", "must be less than 10^15 in magnitude")
	}
	cur := defaultCurrency
	if in.Currency != "" {
		c, err := money.ParseCurrency(in.Currency)
		if err != nil {
			f.Add("currency", "must be an active ISO 4217 currency code such as EUR")
		}
		cur = c
	}
	if len(in.TaxRateIDs) > 5 {
		f.Add("tax_rate_ids", "must list at most 5 tax rates")
	}
	for i, id := range in.TaxRateIDs {
		if _, err := s.Store.GetTaxRate(ctx, orgID, id); err != nil {
			if errs.KindOf(err) != errs.NotFound {
				return err
			}
			f.Add("tax_rate_ids["+strconv.Itoa(i)+"]", "no such tax rate")
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	p.Name, p.Description, p.Unit, p.UnitPrice, p.Currency = in.Name, in.Description, in.Unit, price, cur
	p.TaxRateIDs = append([]string{}, in.TaxRateIDs...)
	p.Active = in.Active == nil || *in.Active
	return nil
}

// CreateProduct validates in and stores a new product.
func (s *Service) CreateProduct(ctx context.Context, orgID string, defaultCurrency money.Currency, in ProductInput) (*Product, error) {
	now := s.Now().UTC()
	p := &Product{OrgID: orgID}
	if err := s.applyProduct(ctx, orgID, in, p, defaultCurrency); err != nil {
		return nil, err
	}
	p.ID, p.CreatedAt, p.UpdatedAt = ident.New("prod", now), now, now
	if err := s.Store.InsertProduct(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// UpdateProduct replaces a product's writable fields.
func (s *Service) UpdateProduct(ctx context.Context, orgID, id string, in ProductInput) (*Product, error) {
	p, err := s.Store.GetProduct(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	if err := s.applyProduct(ctx, orgID, in, p, p.Currency); err != nil {
		return nil, err
	}
	p.UpdatedAt = s.Now().UTC()
	return p, s.Store.UpdateProduct(ctx, p)
}
