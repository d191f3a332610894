package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"bursar/internal/api"
	"bursar/internal/civil"
	"bursar/internal/privacy"
)

var _ privacy.Store = (*Store)(nil)

// ListOrganizationIDs lists every organization's identifier, for jobs
// that visit each one.
func (s *Store) ListOrganizationIDs(ctx context.Context) ([]string, error) {
	return list(ctx, s, "organizations", "SELECT id FROM organizations ORDER BY id", nil, scanString)
}

func scanString(sc scanner) (string, error) {
	var v string
	return v, sc.Scan(&v)
}

// CustomerErasedAt returns when the customer was erased, or nil; with
// lock, it locks the customer's row until the transaction ends.
func (s *Store) CustomerErasedAt(ctx context.Context, orgID, id string, lock bool) (*time.Time, error) {
	q := "SELECT erased_at FROM customers WHERE org_id = ? AND id = ?"
	if lock {
		q += s.d.ForUpdate
	}
	var at *time.Time
	err := s.queryRow(ctx, q, orgID, id).Scan(nullTimeDest{&at})
	if err := s.getOne(err, "customer", id); err != nil {
		return nil, err
	}
	return at, nil
}

// MarkCustomerErased records the time of the customer's erasure.
func (s *Store) MarkCustomerErased(ctx context.Context, orgID, id string, at time.Time) error {
	n, err := s.exec(ctx, "UPDATE customers SET erased_at = ? WHERE org_id = ? AND id = ?", stamp(&at), orgID, id)
	if err != nil {
		return s.fail(err, "erase", "customer", id)
	}
	return touched(n, "customer", id)
}

// DeleteCustomerDrafts deletes the customer's draft invoices and returns
// their identifiers. Drafts have no credit notes or payments.
func (s *Store) DeleteCustomerDrafts(ctx context.Context, orgID, customerID string) ([]string, error) {
	ids, err := list(ctx, s, "invoices", "SELECT id FROM invoices WHERE org_id = ? AND customer_id = ? AND status = 'draft' ORDER BY id",
		[]any{orgID, customerID}, scanString)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := s.DeleteInvoice(ctx, orgID, id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// RetentionYears returns the retention periods the organization has set.
func (s *Store) RetentionYears(ctx context.Context, orgID string) (map[privacy.Class]privacy.Policy, error) {
	ps, err := list(ctx, s, "retention policies", "SELECT class, years, updated_at FROM retention_policies WHERE org_id = ?",
		[]any{orgID}, func(sc scanner) (privacy.Policy, error) {
			var p privacy.Policy
			var at time.Time
			err := sc.Scan(&p.Class, &p.Years, timeDest{&at})
			p.UpdatedAt = &at
			return p, err
		})
	if err != nil {
		return nil, err
	}
	out := make(map[privacy.Class]privacy.Policy, len(ps))
	for _, p := range ps {
		out[p.Class] = p
	}
	return out, nil
}

// SetRetentionYears sets the organization's retention period of a class.
func (s *Store) SetRetentionYears(ctx context.Context, orgID string, c privacy.Class, years int, at time.Time) error {
	_, err := s.exec(ctx, "INSERT INTO retention_policies (org_id, class, years, updated_at) VALUES (?, ?, ?, ?) "+
		"ON CONFLICT (org_id, class) DO UPDATE SET years = excluded.years, updated_at = excluded.updated_at",
		orgID, string(c), years, stamp(&at))
	if err != nil {
		return s.fail(err, "set", "retention policy", string(c))
	}
	return nil
}

// ExpiredUnits lists issued invoices past retention whose credit notes and
// payments are all past theirs; limit 0 lists all.
func (s *Store) ExpiredUnits(ctx context.Context, orgID string, cutoffs map[privacy.Class]civil.Date, limit int) ([]privacy.Unit, error) {
	q := "SELECT i.id, i.number, i.customer_id FROM invoices i WHERE i.org_id = ? AND i.status <> 'draft' AND i.issue_date < ?" +
		" AND NOT EXISTS (SELECT 1 FROM credit_notes c WHERE c.org_id = i.org_id AND c.invoice_id = i.id AND c.issue_date >= ?)" +
		" AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.org_id = i.org_id AND p.invoice_id = i.id AND p.paid_on >= ?)" +
		" ORDER BY i.id"
	args := []any{orgID, cutoffs[privacy.Invoices], cutoffs[privacy.CreditNotes], cutoffs[privacy.Payments]}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	units, err := list(ctx, s, "invoices", q, args, func(sc scanner) (privacy.Unit, error) {
		var u privacy.Unit
		return u, sc.Scan(&u.InvoiceID, &u.Number, &u.CustomerID)
	})
	if err != nil {
		return nil, err
	}
	for i := range units {
		u := &units[i]
		if u.CreditNoteIDs, err = list(ctx, s, "credit notes", "SELECT id FROM credit_notes WHERE org_id = ? AND invoice_id = ? ORDER BY id",
			[]any{orgID, u.InvoiceID}, scanString); err != nil {
			return nil, err
		}
		if u.PaymentIDs, err = list(ctx, s, "payments", "SELECT id FROM payments WHERE org_id = ? AND invoice_id = ? ORDER BY id",
			[]any{orgID, u.InvoiceID}, scanString); err != nil {
			return nil, err
		}
	}
	return units, nil
}

// DeleteUnit deletes an invoice with its payments and credit notes.
func (s *Store) DeleteUnit(ctx context.Context, orgID string, u privacy.Unit) error {
	for _, q := range []string{
		"DELETE FROM payments WHERE org_id = ? AND invoice_id = ?",
		"DELETE FROM credit_notes WHERE org_id = ? AND invoice_id = ?",
		"DELETE FROM invoices WHERE org_id = ? AND id = ?",
	} {
		if _, err := s.exec(ctx, q, orgID, u.InvoiceID); err != nil {
			return s.fail(err, "purge", "invoice", u.InvoiceID)
		}
	}
	return nil
}

// purgeLock names the lock of the purge job: "purge" in ASCII.
const purgeLock = 0x7075726765

// LockPurge takes the purge job's lock until the transaction of ctx ends
// (an advisory lock on PostgreSQL; on SQLite the write transaction
// already excludes every other writer).
func (s *Store) LockPurge(ctx context.Context) error {
	if s.d.LockJob == "" {
		return nil
	}
	if _, err := s.exec(ctx, s.d.LockJob, int64(purgeLock)); err != nil {
		return fmt.Errorf("%s: lock the purge: %w", s.d.Name, err)
	}
	return nil
}

// EraseIdempotentResponses replaces the completed idempotency records of
// the organization whose response body mentions one of the identifiers
// with api.ErasedReplay. The bodies are sealed, so they are opened and
// searched here, not in SQL; an erasure is rare, and reads the
// organization's records once.
func (s *Store) EraseIdempotentResponses(ctx context.Context, orgID string, mentions []string) (int, error) {
	recs, err := list(ctx, s, "idempotency keys", "SELECT idem_key, body FROM idempotency_keys WHERE org_id = ? AND status <> 0 ORDER BY idem_key",
		[]any{orgID}, func(sc scanner) (*api.IdempotencyRecord, error) {
			r := &api.IdempotencyRecord{OrgID: orgID}
			return r, sc.Scan(&r.Key, &r.Body)
		})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range recs {
		if err := s.openBody(ctx, r); err != nil {
			return n, s.fail(err, "read", "idempotency key", r.Key)
		}
		if !slices.ContainsFunc(mentions, func(id string) bool { return id != "" && bytes.Contains(r.Body, []byte(id)) }) {
			continue
		}
		r.Status, r.ContentType, r.Body = api.ErasedReplay()
		body, err := s.sealBody(ctx, r)
		if err != nil {
			return n, s.fail(err, "erase", "idempotency key", r.Key)
		}
		if _, err := s.exec(ctx, "UPDATE idempotency_keys SET status = ?, content_type = ?, body = ? WHERE org_id = ? AND idem_key = ?",
			r.Status, r.ContentType, body, orgID, r.Key); err != nil {
			return n, s.fail(err, "erase", "idempotency key", r.Key)
		}
		n++
	}
	return n, nil
}
