package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"slices"
	"sync"

	"bursar/internal/invoice"
)

// contentCacheSize bounds the documents whose decoded content is kept: a
// few megabytes at most.
const contentCacheSize = 2048

// contentCache keeps decoded document content by the exact JSON text it was
// decoded from. Reading a document decodes its content column, and that
// decoding was most of the cost of GET /v1/invoices/{id}; a finalized
// document's content never changes, and a draft's changes only when it is
// edited. Keyed by the text itself, a hit cannot be stale whatever wrote
// the row, on this replica or another. Callers get a copy they may change.
type contentCache struct {
	seed maphash.Seed
	mu   sync.Mutex
	m    map[uint64]cachedContent
}

type cachedContent struct {
	raw []byte
	c   content
}

func newContentCache() *contentCache {
	return &contentCache{seed: maphash.MakeSeed(), m: make(map[uint64]cachedContent)}
}

// decode sets *dst to the content raw holds.
func (cc *contentCache) decode(raw []byte, dst *content) error {
	h := maphash.Bytes(cc.seed, raw)
	cc.mu.Lock()
	e, ok := cc.m[h]
	cc.mu.Unlock()
	if ok && bytes.Equal(e.raw, raw) {
		*dst = e.c.clone()
		return nil
	}
	var c content
	if err := json.Unmarshal(raw, &c); err != nil {
		return err
	}
	*dst = c.clone()
	cc.mu.Lock()
	if len(cc.m) >= contentCacheSize {
		for k := range cc.m { // evict one at random: map order is random
			delete(cc.m, k)
			break
		}
	}
	cc.m[h] = cachedContent{raw: bytes.Clone(raw), c: c}
	cc.mu.Unlock()
	return nil
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

// contentDest scans a content column through the cache.
type contentDest struct {
	cc  *contentCache
	dst *content
}

func (d contentDest) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return d.cc.decode([]byte(v), d.dst)
	case []byte:
		return d.cc.decode(v, d.dst)
	default:
		return fmt.Errorf("cannot scan %T as JSON", src)
	}
}
