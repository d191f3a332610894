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
//
// A sealed column is cached by its ciphertext together with the place it
// was read from (organization, table, column, row): the value is opened
// once, on a miss, and a ciphertext copied to another row misses and fails
// to open there, as it would without the cache.
type textCache[T any] struct {
	seed  maphash.Seed
	clone func(T) T
	mu    sync.Mutex
	m     map[uint64]cachedText[T]
}

type cachedText[T any] struct {
	place, raw string
	v          T
}

func newTextCache[T any](clone func(T) T) *textCache[T] {
	return &textCache[T]{seed: maphash.MakeSeed(), clone: clone, m: make(map[uint64]cachedText[T])}
}

// decode sets *dst to the value raw holds. raw is a string, not bytes,
// because drivers hand text columns over as strings: keeping them as such
// spares a copy of every document's content on every read.
func (tc *textCache[T]) decode(raw string, dst *T) error {
	return tc.decodeAt("", raw, nil, dst)
}

// decodeAt is decode for a column that may be sealed: place names where
// raw was read, and open, called on a miss, returns the JSON raw holds.
func (tc *textCache[T]) decodeAt(place, raw string, open func(string) (string, error), dst *T) error {
	var hh maphash.Hash
	hh.SetSeed(tc.seed)
	// maphash.Hash writes never fail.
	_, _ = hh.WriteString(place)
	_ = hh.WriteByte(0)
	_, _ = hh.WriteString(raw)
	h := hh.Sum64()
	tc.mu.Lock()
	e, ok := tc.m[h]
	tc.mu.Unlock()
	if ok && e.raw == raw && e.place == place {
		*dst = tc.clone(e.v)
		return nil
	}
	text := raw
	if open != nil {
		var err error
		if text, err = open(raw); err != nil {
			return err
		}
	}
	var v T
	if err := json.Unmarshal([]byte(text), &v); err != nil {
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
	tc.m[h] = cachedText[T]{place: place, raw: raw, v: v}
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

// openCached decodes a possibly sealed JSON column of a document through
// tc. Unsealed text (stored before sealing) is decoded as it is.
func openCached[T any](x *opener, tc *textCache[T], column, raw string, dst *T) {
	if x.err != nil {
		return
	}
	if !isSealedJSON(raw) {
		x.err = tc.decode(raw, dst)
		return
	}
	place := x.org + "\x00" + x.table + "\x00" + column + "\x00" + x.row
	x.err = tc.decodeAt(place, raw, func(raw string) (string, error) {
		text := x.openJSONText(column, raw)
		return text, x.err
	}, dst)
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
