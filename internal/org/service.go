package org

import (
	"context"
	"strings"
	"time"

	"bursar/internal/errs"
	"bursar/internal/ident"
	"bursar/internal/money"
	"bursar/internal/party"
)

// Input is the writable part of an organization.
type Input struct {
	Name             string        `json:"name"`
	Email            string        `json:"email"`
	Address          party.Address `json:"address"`
	VATID            string        `json:"vat_id"`
	TaxID            string        `json:"tax_id"`
	DefaultCurrency  string        `json:"default_currency"`
	TimeZone         string        `json:"time_zone"`
	Locale           string        `json:"locale"`
	InvoiceSeries    string        `json:"invoice_series"`
	CreditNoteSeries string        `json:"credit_note_series"`
}

// InputOf returns the writable part of o.
func InputOf(o *Organization) Input {
	return Input{Name: o.Name, Email: o.Email, Address: o.Address, VATID: o.VATID, TaxID: o.TaxID,
		DefaultCurrency: string(o.DefaultCurrency), TimeZone: o.TimeZone, Locale: o.Locale,
		InvoiceSeries: o.InvoiceSeries, CreditNoteSeries: o.CreditNoteSeries}
}

// ValidSeries reports whether a number pattern is usable: it must contain
// exactly one {SEQ} or {SEQ:n} placeholder, may contain {YYYY}, {YY} and
// {MM}, and nothing else in braces.
func ValidSeries(p string) bool {
	if len(p) == 0 || len(p) > 50 {
		return false
	}
	seq := 0
	for rest := p; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return false
		}
		switch tok := rest[i+1 : i+j]; {
		case tok == "YYYY" || tok == "YY" || tok == "MM":
		case tok == "SEQ" || (strings.HasPrefix(tok, "SEQ:") && len(tok) == 5 && tok[4] >= '1' && tok[4] <= '9'):
			seq++
		default:
			return false
		}
		rest = rest[i+j+1:]
	}
	return seq == 1
}

func (in Input) apply(o *Organization) error {
	var f errs.Fields
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 200 {
		f.Add("name", "is required and must be at most 200 characters")
	}
	in.Address.Validate("address", &f)
	cur, err := money.ParseCurrency(in.DefaultCurrency)
	if err != nil {
		f.Add("default_currency", "must be an active ISO 4217 currency code such as EUR")
	}
	if in.TimeZone == "" {
		in.TimeZone = "UTC"
	}
	if _, err := time.LoadLocation(in.TimeZone); err != nil || len(in.TimeZone) > 64 {
		f.Add("time_zone", "must be an IANA time zone such as Europe/Berlin")
	}
	if in.Locale == "" {
		in.Locale = "en"
	}
	if in.InvoiceSeries == "" {
		in.InvoiceSeries = DefaultInvoiceSeries
	}
	if in.CreditNoteSeries == "" {
		in.CreditNoteSeries = DefaultCreditNoteSeries
	}
	if !ValidSeries(in.InvoiceSeries) {
		f.Add("invoice_series", "must contain one {SEQ} or {SEQ:n} and only {YYYY}, {YY}, {MM} besides, such as INV-{YYYY}-{SEQ:5}")
	}
	if !ValidSeries(in.CreditNoteSeries) {
		f.Add("credit_note_series", "must contain one {SEQ} or {SEQ:n} and only {YYYY}, {YY}, {MM} besides, such as CN-{YYYY}-{SEQ:5}")
	}
	if len(in.VATID) > 30 {
		f.Add("vat_id", "must be at most 30 characters")
	}
	if len(in.TaxID) > 30 {
		f.Add("tax_id", "must be at most 30 characters")
	}
	if err := f.Err(); err != nil {
		return err
	}
	o.Name, o.Email, o.Address, o.VATID, o.TaxID = in.Name, in.Email, in.Address, in.VATID, in.TaxID
	o.DefaultCurrency, o.TimeZone, o.Locale = cur, in.TimeZone, in.Locale
	o.InvoiceSeries, o.CreditNoteSeries = in.InvoiceSeries, in.CreditNoteSeries
	return nil
}

// New validates in and returns a new organization, not yet stored.
func New(in Input, now time.Time) (*Organization, error) {
	o := &Organization{}
	if err := in.apply(o); err != nil {
		return nil, err
	}
	o.ID = ident.New("org", now)
	o.CreatedAt, o.UpdatedAt = now.UTC(), now.UTC()
	return o, nil
}

// Update validates in and replaces the organization's writable fields.
func Update(ctx context.Context, s Store, id string, in Input, now time.Time) (*Organization, error) {
	o, err := s.GetOrganization(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := in.apply(o); err != nil {
		return nil, err
	}
	o.UpdatedAt = now.UTC()
	return o, s.UpdateOrganization(ctx, o)
}
