// Package invoice holds invoices and credit notes: their lines, the exact
// EN 16931 calculation of their totals, their lifecycle (draft, open, paid,
// void, uncollectible), gap-free numbering and content hashing.
package invoice

import (
	"time"

	"bursar/internal/civil"
	"bursar/internal/money"
	"bursar/internal/party"
)

// Status is where an invoice is in its lifecycle.
type Status string

// The invoice statuses (DESIGN.md §5).
const (
	StatusDraft         Status = "draft"
	StatusOpen          Status = "open"
	StatusPaid          Status = "paid"
	StatusVoid          Status = "void"
	StatusUncollectible Status = "uncollectible"
)

// Limits on a document.
const (
	MaxLines = 1000
)

// MaxAmount bounds every amount, quantity and price: |x| < 10^15.
var MaxAmount = money.New(1, -15)

// Tax is a tax rate as applied on a document: a copy taken when the line is
// written, so that a later change to the rate never changes a document.
type Tax struct {
	TaxRateID           string        `json:"tax_rate_id"`
	Name                string        `json:"name"`
	Category            string        `json:"category"` // UNCL5305
	Percentage          money.Decimal `json:"percentage"`
	ExemptionReason     string        `json:"exemption_reason,omitempty"`
	ExemptionReasonCode string        `json:"exemption_reason_code,omitempty"`
}

// Line is an invoice line (EN 16931 BG-25).
type Line struct {
	ProductID   string        `json:"product_id,omitempty"`
	Description string        `json:"description"`
	Quantity    money.Decimal `json:"quantity"`
	Unit        string        `json:"unit"` // UN/ECE Rec 20, default C62
	UnitPrice   money.Decimal `json:"unit_price"`
	// BaseQuantity is the number of units the unit price is for (BT-149);
	// zero means 1.
	BaseQuantity money.Decimal `json:"base_quantity"`
	// A line discount is a percentage of the line amount or an amount; at
	// most one of the two is non-zero.
	DiscountPercent money.Decimal `json:"discount_percent"`
	DiscountAmount  money.Decimal `json:"discount_amount"`
	Taxes           []Tax         `json:"taxes"`

	// Computed by Document.Calculate, in the currency's precision:
	// Gross is quantity × unit price / base quantity - discount (tax
	// included when the document's prices include tax); Discount is the
	// line allowance (BT-136); Net is the line net amount (BT-131).
	Gross    money.Decimal `json:"gross"`
	Discount money.Decimal `json:"discount"`
	Net      money.Decimal `json:"net"`
}

// AllowanceCharge is a document-level allowance (BG-20) or charge (BG-21):
// a fixed amount or a percentage of the lines it applies to.
type AllowanceCharge struct {
	Amount  money.Decimal `json:"amount"`  // as given; zero when Percent is used
	Percent money.Decimal `json:"percent"` // zero when Amount is used
	Reason  string        `json:"reason"`
	// Tax is the tax group the allowance or charge belongs to; nil when
	// the document's lines carry no tax.
	Tax *Tax `json:"tax"`

	// Computed by Document.Calculate: Base is the amount a percentage
	// applies to (BT-93/BT-100), Net the allowance or charge amount
	// excluding tax (BT-92/BT-99).
	Base money.Decimal `json:"base"`
	Net  money.Decimal `json:"net"`
}

// Totals are a document's totals in EN 16931 terms, each rounded to the
// currency. The identities BR-CO-10 to BR-CO-16 hold between them.
type Totals struct {
	LinesNet     money.Decimal `json:"lines_net"`     // BT-106
	Allowances   money.Decimal `json:"allowances"`    // BT-107
	Charges      money.Decimal `json:"charges"`       // BT-108
	TaxExclusive money.Decimal `json:"tax_exclusive"` // BT-109
	Tax          money.Decimal `json:"tax"`           // BT-110
	TaxInclusive money.Decimal `json:"tax_inclusive"` // BT-112
	Paid         money.Decimal `json:"paid"`          // BT-113
	Rounding     money.Decimal `json:"rounding"`      // BT-114
	Due          money.Decimal `json:"due"`           // BT-115
}

// TaxSubtotal is one (category, rate) group of the tax breakdown (BG-23).
type TaxSubtotal struct {
	Category            string        `json:"category"`
	Percentage          money.Decimal `json:"percentage"`
	Taxable             money.Decimal `json:"taxable"` // BT-116
	Tax                 money.Decimal `json:"tax"`     // BT-117
	ExemptionReason     string        `json:"exemption_reason,omitempty"`
	ExemptionReasonCode string        `json:"exemption_reason_code,omitempty"`
}

// Document is what invoices and credit notes share: the priced content and
// its computed totals.
type Document struct {
	Currency         money.Currency    `json:"currency"`
	PricesIncludeTax bool              `json:"prices_include_tax"`
	Lines            []Line            `json:"lines"`
	Allowances       []AllowanceCharge `json:"allowances"`
	Charges          []AllowanceCharge `json:"charges"`
	Totals           Totals            `json:"totals"`
	Taxes            []TaxSubtotal     `json:"taxes"`
}

// Buyer is the customer as it stood on a document (frozen at finalize).
type Buyer struct {
	CustomerID string        `json:"customer_id"`
	Name       string        `json:"name"`
	Email      string        `json:"email"`
	Address    party.Address `json:"address"`
	TaxID      string        `json:"tax_id"`
}

// Seller is the organization as it stood on a document.
type Seller struct {
	Name    string        `json:"name"`
	Address party.Address `json:"address"`
	VATID   string        `json:"vat_id"`
	TaxID   string        `json:"tax_id"`
}

// Invoice is a bill to a customer.
type Invoice struct {
	ID         string `json:"id"`
	OrgID      string `json:"-"`
	Number     string `json:"number"` // empty while draft
	Status     Status `json:"status"`
	CustomerID string `json:"customer_id"`
	// Buyer and Seller are refreshed while draft and frozen at finalize.
	Buyer            Buyer      `json:"buyer"`
	Seller           Seller     `json:"seller"`
	IssueDate        civil.Date `json:"issue_date"`
	DueDate          civil.Date `json:"due_date"`
	PaymentTermsDays *int       `json:"payment_terms_days"`
	BuyerReference   string     `json:"buyer_reference"`
	PurchaseOrder    string     `json:"purchase_order"`
	Notes            string     `json:"notes"`
	Footer           string     `json:"footer"`
	Document

	// Money received against the invoice, in the currency: payments,
	// credit notes and customer credit balance applied. Totals.Paid is
	// their sum.
	AmountPaid     money.Decimal `json:"amount_paid"`
	AmountCredited money.Decimal `json:"amount_credited"`
	CreditApplied  money.Decimal `json:"credit_applied"`

	// ContentHash is the SHA-256 of the canonical content, set at
	// finalize; it proves the content never changed afterwards.
	ContentHash string     `json:"content_hash"`
	Version     int        `json:"-"`
	FinalizedAt *time.Time `json:"finalized_at"`
	PaidAt      *time.Time `json:"paid_at"`
	VoidedAt    *time.Time `json:"voided_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// CreditNote corrects a finalized invoice, fully or in part (EN 16931
// document type 381). It always has a number: credit notes are issued, never
// drafted.
type CreditNote struct {
	ID        string     `json:"id"`
	OrgID     string     `json:"-"`
	Number    string     `json:"number"`
	InvoiceID string     `json:"invoice_id"`
	Buyer     Buyer      `json:"buyer"`
	Seller    Seller     `json:"seller"`
	IssueDate civil.Date `json:"issue_date"`
	Reason    string     `json:"reason"`
	Document
	// AppliedToInvoice reduced the invoice's balance; the rest,
	// CreditedToCustomer, went to the customer's credit balance.
	AppliedToInvoice   money.Decimal `json:"applied_to_invoice"`
	CreditedToCustomer money.Decimal `json:"credited_to_customer"`
	ContentHash        string        `json:"content_hash"`
	CreatedAt          time.Time     `json:"created_at"`
}

// Payment is money received from a customer, recorded manually or by a
// gateway.
type Payment struct {
	ID         string         `json:"id"`
	OrgID      string         `json:"-"`
	InvoiceID  string         `json:"invoice_id"`
	CustomerID string         `json:"customer_id"`
	Amount     money.Decimal  `json:"amount"`
	Currency   money.Currency `json:"currency"`
	Date       civil.Date     `json:"date"`
	Method     string         `json:"method"` // bank_transfer, card, cash, check, direct_debit, other
	Reference  string         `json:"reference"`
	// AppliedToInvoice is what reduced the invoice's balance; the rest of
	// an overpayment, CreditedToCustomer, became customer credit.
	AppliedToInvoice   money.Decimal `json:"applied_to_invoice"`
	CreditedToCustomer money.Decimal `json:"credited_to_customer"`
	CreatedAt          time.Time     `json:"created_at"`
}
