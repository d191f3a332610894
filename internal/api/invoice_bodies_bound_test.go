package api

import (
	"strconv"
	"testing"

	"bursar/internal/invoice"
)

// The kept answers stay within invoiceBodiesMax however many invoices are
// read, and the count of their bytes stays exact through replacements
// and removals.
func TestInvoiceBodiesStayWithinTheirBound(t *testing.T) {
	var c invoiceBodies
	check := func(what string) {
		t.Helper()
		sum := 0
		for _, e := range c.m {
			sum += len(e.body)
		}
		if sum != c.bytes || c.bytes > invoiceBodiesMax {
			t.Fatalf("%s: %d bytes counted, %d kept, bound %d", what, c.bytes, sum, invoiceBodiesMax)
		}
	}
	body := make([]byte, 100<<10)
	for i := range 1000 {
		c.keep(strconv.Itoa(i), &invoiceBody{inv: &invoice.Invoice{}, body: body})
	}
	check("after 1000 answers of 100 KiB")
	if c.lookup("999") == nil {
		t.Fatal("the answer kept last was dropped")
	}
	c.keep("999", &invoiceBody{inv: &invoice.Invoice{}, body: body[:10]})
	check("after a replacement")
	c.forget("999")
	check("after a removal")
	c.keep("huge", &invoiceBody{inv: &invoice.Invoice{}, body: make([]byte, invoiceBodyMax+1)})
	if c.lookup("huge") != nil {
		t.Fatal("an answer above invoiceBodyMax was kept")
	}
}
