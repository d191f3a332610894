package api

import (
	"bytes"
	"context"
	"net/http"
	"sync"

	"bursar/internal/errs"
	"bursar/internal/invoice"
)

// Bounds of the invoice answers one API keeps: a few thousand typical
// invoices; an invoice of hundreds of lines is answered but not kept.
const (
	invoiceBodiesMax = 16 << 20
	invoiceBodyMax   = 128 << 10
)

// invoiceBodies keeps the JSON answers of GET /v1/invoices/{id} by
// organization and invoice, with the version of the invoice they show.
// Reading, opening and encoding a whole invoice was most of a GET's cost;
// an invoice that has not changed since it was last answered costs one
// read of its version instead. The version is read from the store on
// every GET and every change to a stored invoice increments it, so an
// answer is never older than the store, whichever replica wrote the
// change. The overdue flag, which moves with the clock and the
// organization's time zone, is computed again on every GET, and a kept
// answer whose flag differs is not used.
//
// Answers hold personal data, in memory only, as the vault's cache of
// opened values does.
type invoiceBodies struct {
	mu    sync.Mutex
	m     map[string]*invoiceBody
	bytes int
}

// invoiceBody is one kept answer.
type invoiceBody struct {
	inv     *invoice.Invoice // the invoice as read; never changed
	overdue bool             // the flag the body shows
	body    []byte
}

func invoiceKey(orgID, id string) string { return orgID + "/" + id }

func (c *invoiceBodies) lookup(key string) *invoiceBody {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

// keep stores e under key, dropping other answers while they would
// exceed invoiceBodiesMax.
func (c *invoiceBodies) keep(key string, e *invoiceBody) {
	if len(e.body) > invoiceBodyMax {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*invoiceBody)
	}
	if old, ok := c.m[key]; ok {
		c.bytes -= len(old.body)
		delete(c.m, key)
	}
	// Map order is random: what is dropped is an arbitrary answer, and a
	// dropped answer only costs one full read when it is asked for again.
	for k, old := range c.m {
		if c.bytes+len(e.body) <= invoiceBodiesMax {
			break
		}
		c.bytes -= len(old.body)
		delete(c.m, k)
	}
	c.m[key] = e
	c.bytes += len(e.body)
}

func (c *invoiceBodies) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[key]; ok {
		c.bytes -= len(old.body)
		delete(c.m, key)
	}
}

// invoiceAnswer returns the JSON answer for the invoice as it is stored
// now: a kept one if the invoice's version and overdue flag are still
// those it shows, else a new one, which it keeps.
func (a *api) invoiceAnswer(ctx context.Context, orgID, id string) ([]byte, error) {
	v, err := a.invoiceViewer(ctx, orgID)
	if err != nil {
		return nil, err
	}
	key := invoiceKey(orgID, id)
	if e := a.bodies.lookup(key); e != nil {
		version, err := a.Invoices.Version(ctx, orgID, id)
		if errs.KindOf(err) == errs.NotFound {
			a.bodies.forget(key) // deleted, or purged after its retention
		}
		if err != nil {
			return nil, err
		}
		if version == e.inv.Version && e.overdue == e.inv.IsOverdue(v.now, v.timeZone) {
			return e.body, nil
		}
	}
	inv, err := a.Invoices.Get(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	view := v.view(inv)
	var buf bytes.Buffer
	encodeBody(&buf, view)
	a.bodies.keep(key, &invoiceBody{inv: inv, overdue: view.Overdue, body: buf.Bytes()})
	return buf.Bytes(), nil
}

func (a *api) getInvoice(w http.ResponseWriter, r *http.Request, c caller) error {
	id, err := pathID(r, "inv", "invoice")
	if err != nil {
		return err
	}
	body, err := a.invoiceAnswer(r.Context(), c.orgID, id)
	if err != nil {
		return err
	}
	writeEncoded(w, http.StatusOK, "application/json", body)
	return nil
}
