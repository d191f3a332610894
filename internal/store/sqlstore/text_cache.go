package sqlstore

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"

	"bursar/internal/invoice"
)

// textCacheSize bounds the values a textCache keeps: a few megabytes at
// most for document content.
const textCacheSize = 2048

// textCache keeps values decoded from JSON columns by the exact text they
// were decoded from. Reading a document decodes its content, buyer and
// seller columns, and that decoding was most of the cost of GET
// /v1/invoices/{id}; a finalized document never changes, and a draft only
// when it is edited. Keyed by the text itself, a hit cannot be stale
// whatever wrote the row, on this replica or another. Callers get a copy
// made by clone, which they may change.
type textCache[T any] struct {
	seed  maphash.Seed
	clone func(T) T
	mu    sync.Mutex
	m     map[uint64]cachedText[T]
}

type cachedText[T any] struct {
	raw string
	v   T
}

func newTextCache[T any](clone func(T) T) *textCache[T] {
	return &textCache[T]{seed: maphash.MakeSeed(), clone: clone, m: make(map[uint64]cachedText[T])}
}

// decode sets *dst to the value raw holds. raw is a string, not bytes,
// because drivers hand text columns over as strings: keeping them as such
// spares a copy of every document's content on every read.
func (tc *textCache[T]) decode(raw string, dst *T) error {
	h := maphash.String(tc.seed, raw)
	tc.mu.Lock()
	e, ok := tc.m[h]
	tc.mu.Unlock()
	if ok && e.raw == raw {
		*dst = tc.clone(e.v)
		return nil
	}
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return err
	}
	*dst = tc.clone(v)
	tc.mu.Lock()
	if len(tc.m) >= textCacheSize {
		for k := range tc.m { // evict one at random: map order is random
			delete(tc.m, k)
			break
		}
	}
	tc.m[h] = cachedText[T]{raw: raw, v: v}
	tc.mu.Unlock()
	return nil
}

// dest is a sql.Scanner that decodes a column into *dst through tc.
func (tc *textCache[T]) dest(dst *T) cachedDest[T] { return cachedDest[T]{tc, dst} }

// cachedDest scans a JSON column through a textCache.
type cachedDest[T any] struct {
	tc  *textCache[T]
	dst *T
}

func (d cachedDest[T]) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return d.tc.decode(v, d.dst)
	case []byte:
		return d.tc.decode(string(v), d.dst)
	default:
		return fmt.Errorf("cannot scan %T as JSON", src)
	}
}

// documentCaches are the decoded-column caches of a store.
type documentCaches struct {
	content *textCache[content]
	buyer   *textCache[invoice.Buyer]
	seller  *textCache[invoice.Seller]
}

func newDocumentCaches() documentCaches {
	return documentCaches{
		content: newTextCache(content.clone),
		// Buyer and Seller hold strings only: a plain copy is a deep one.
		buyer:  newTextCache(func(b invoice.Buyer) invoice.Buyer { return b }),
		seller: newTextCache(func(s invoice.Seller) invoice.Seller { return s }),
	}
}

// clone copies c deeply enough that changing the copy's slices, lines or
// taxes leaves c as it was (decimals are immutable and can be shared).
func (c content) clone() content {
	// slices.Clone keeps nil nil and empty empty, so the copy encodes
	// exactly as the original does.
	out := content{
		Lines:      slices.Clone(c.Lines),
		Allowances: cloneAllowances(c.Allowances),
		Charges:    cloneAllowances(c.Charges),
		Taxes:      slices.Clone(c.Taxes),
	}
	for i := range out.Lines {
		out.Lines[i].Taxes = slices.Clone(out.Lines[i].Taxes)
	}
	return out
}

func cloneAllowances(as []invoice.AllowanceCharge) []invoice.AllowanceCharge {
	out := slices.Clone(as)
	for i, a := range out {
		if a.Tax != nil {
			t := *a.Tax
			out[i].Tax = &t
		}
	}
	return out
}
