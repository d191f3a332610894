// Package catalog holds what an organization sells (products) and the tax
// rates it applies.
package catalog

import (
	"time"

	"bursar/internal/money"
)

// Product is something sold at a unit price.
type Product struct {
	ID          string         `json:"id"`
	OrgID       string         `json:"-"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Unit        string         `json:"unit"` // UN/ECE Recommendation 20 code, e.g. C62, HUR, KWH
	UnitPrice   money.Decimal  `json:"unit_price"`
	Currency    money.Currency `json:"currency"`
	TaxRateIDs  []string       `json:"tax_rate_ids"`
	Active      bool           `json:"active"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
}

// TaxRate is a tax with a UNCL5305 category and a percentage.
type TaxRate struct {
	ID         string        `json:"id"`
	OrgID      string        `json:"-"`
	Name       string        `json:"name"`
	Percentage money.Decimal `json:"percentage"`
	// Category is the UNCL5305 code: S, Z, E, AE, K, G, O, L, M.
	Category string `json:"category"`
	// ExemptionReason (BT-120) and ExemptionReasonCode (BT-121, VATEX) are
	// required for categories E, AE, K, G and O.
	ExemptionReason     string    `json:"exemption_reason"`
	ExemptionReasonCode string    `json:"exemption_reason_code"`
	Country             string    `json:"country"`
	Active              bool      `json:"active"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`
}
