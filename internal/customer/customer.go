// Package customer holds the buyers an organization invoices.
package customer

import (
	"time"

	"bursar/internal/money"
	"bursar/internal/party"
)

// Customer is a buyer (EN 16931 BG-7).
type Customer struct {
	ID               string         `json:"id"`
	OrgID            string         `json:"-"`
	Name             string         `json:"name"`
	Email            string         `json:"email"`
	CCEmails         []string       `json:"cc_emails"`
	Address          party.Address  `json:"address"`
	TaxID            string         `json:"tax_id"`
	Currency         money.Currency `json:"currency"`
	PaymentTermsDays int            `json:"payment_terms_days"`
	Locale           string         `json:"locale"`
	Notes            string         `json:"notes"`
	// CreditBalance is money the organization owes the customer (from
	// overpayments and credit notes), in minor units of Currency; the next
	// invoice can use it.
	CreditBalance int64     `json:"-"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}
