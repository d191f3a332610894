// Package org holds organizations: the tenants of Bursar. Every other
// object belongs to exactly one organization.
package org

import (
	"time"

	"bursar/internal/money"
	"bursar/internal/party"
)

// Organization is a business that bills with Bursar: the seller on its
// invoices.
type Organization struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"` // legal name
	Email           string         `json:"email"`
	Address         party.Address  `json:"address"`
	VATID           string         `json:"vat_id"`
	TaxID           string         `json:"tax_id"` // other tax registration (BT-32)
	DefaultCurrency money.Currency `json:"default_currency"`
	TimeZone        string         `json:"time_zone"` // IANA name
	Locale          string         `json:"locale"`
	// InvoiceSeries and CreditNoteSeries are number patterns such as
	// "INV-{YYYY}-{SEQ:5}"; see invoice.FormatNumber.
	InvoiceSeries    string    `json:"invoice_series"`
	CreditNoteSeries string    `json:"credit_note_series"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// Default number series.
const (
	DefaultInvoiceSeries    = "INV-{YYYY}-{SEQ:5}"
	DefaultCreditNoteSeries = "CN-{YYYY}-{SEQ:5}" // #nosec G101 -- "Credit" is a credit note, not a credential.
)
