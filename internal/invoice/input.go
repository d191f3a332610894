package invoice

// LineInput is an invoice line as the API receives it. Numbers are decimal
// strings; empty means "not given".
type LineInput struct {
	ProductID       string   `json:"product_id,omitempty"`
	Description     string   `json:"description"`
	Quantity        string   `json:"quantity"`
	Unit            string   `json:"unit,omitempty"`
	UnitPrice       string   `json:"unit_price"`
	BaseQuantity    string   `json:"base_quantity,omitempty"`
	DiscountPercent string   `json:"discount_percent,omitempty"`
	DiscountAmount  string   `json:"discount_amount,omitempty"`
	TaxRateIDs      []string `json:"tax_rate_ids"`
}

// AllowanceChargeInput is a document-level allowance or charge as the API
// receives it: an amount or a percent, a reason and a tax rate.
type AllowanceChargeInput struct {
	Amount    string `json:"amount,omitempty"`
	Percent   string `json:"percent,omitempty"`
	Reason    string `json:"reason"`
	TaxRateID string `json:"tax_rate_id,omitempty"`
}

// Input is the writable part of an invoice, as the API receives it.
type Input struct {
	CustomerID       string                 `json:"customer_id"`
	Currency         string                 `json:"currency,omitempty"`
	IssueDate        string                 `json:"issue_date,omitempty"`
	DueDate          string                 `json:"due_date,omitempty"`
	PaymentTermsDays *int                   `json:"payment_terms_days,omitempty"`
	BuyerReference   string                 `json:"buyer_reference,omitempty"`
	PurchaseOrder    string                 `json:"purchase_order,omitempty"`
	Notes            string                 `json:"notes,omitempty"`
	Footer           string                 `json:"footer,omitempty"`
	PricesIncludeTax bool                   `json:"prices_include_tax"`
	Lines            []LineInput            `json:"lines"`
	Allowances       []AllowanceChargeInput `json:"allowances,omitempty"`
	Charges          []AllowanceChargeInput `json:"charges,omitempty"`
}

// CreditNoteInput asks for a credit note against a finalized invoice. With
// no lines it credits the whole invoice; with lines, just those.
type CreditNoteInput struct {
	InvoiceID  string                 `json:"invoice_id"`
	Reason     string                 `json:"reason"`
	IssueDate  string                 `json:"issue_date,omitempty"`
	Lines      []LineInput            `json:"lines,omitempty"`
	Allowances []AllowanceChargeInput `json:"allowances,omitempty"`
	Charges    []AllowanceChargeInput `json:"charges,omitempty"`
}

// PaymentInput records a payment received for an invoice.
type PaymentInput struct {
	Amount    string `json:"amount"`
	Date      string `json:"date,omitempty"`
	Method    string `json:"method,omitempty"`
	Reference string `json:"reference,omitempty"`
}
