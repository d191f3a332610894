package sqlstore

import (
	"context"
	"time"

	"bursar/internal/guard"
)

// The store keeps the guard's address rules and organizations' own limits.
var (
	_ guard.RuleStore  = (*Store)(nil)
	_ guard.LimitStore = (*Store)(nil)
)

const ipRuleCols = "id, action, cidr, note, created_by, created_at, expires_at"

var insertIPRuleSQL = insertSQL("ip_rules", ipRuleCols)

func scanIPRule(sc scanner) (*guard.IPRule, error) {
	var r guard.IPRule
	return &r, sc.Scan(&r.ID, &r.Action, &r.CIDR, &r.Note, &r.CreatedBy, timeDest{&r.CreatedAt}, nullTimeDest{&r.ExpiresAt})
}

// InsertIPRule stores a new address rule.
func (s *Store) InsertIPRule(ctx context.Context, r *guard.IPRule) error {
	if _, err := s.exec(ctx, insertIPRuleSQL, r.ID, r.Action, r.CIDR, r.Note, r.CreatedBy,
		stamp(&r.CreatedAt), stampPtr(&r.ExpiresAt)); err != nil {
		return s.fail(err, "insert", "IP rule", r.ID)
	}
	return nil
}

// ListIPRules returns every address rule, oldest first. Identifiers sort
// by creation time only to the millisecond, so the time itself orders.
func (s *Store) ListIPRules(ctx context.Context) ([]*guard.IPRule, error) {
	rows, err := s.query(ctx, "SELECT "+ipRuleCols+" FROM ip_rules ORDER BY created_at, id")
	if err != nil {
		return nil, s.fail(err, "list", "IP rules", "")
	}
	defer rows.Close()
	var out []*guard.IPRule
	for rows.Next() {
		r, err := scanIPRule(rows)
		if err != nil {
			return nil, s.fail(err, "list", "IP rules", "")
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list", "IP rules", "")
	}
	return out, nil
}

// DeleteIPRule removes an address rule and returns it.
func (s *Store) DeleteIPRule(ctx context.Context, id string) (*guard.IPRule, error) {
	var r *guard.IPRule
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		r, err = scanIPRule(s.queryRow(ctx, "SELECT "+ipRuleCols+" FROM ip_rules WHERE id = ?"+s.d.ForUpdate, id))
		if err := s.getOne(err, "IP rule", id); err != nil {
			return err
		}
		n, err := s.exec(ctx, "DELETE FROM ip_rules WHERE id = ?", id)
		if err != nil {
			return s.fail(err, "delete", "IP rule", id)
		}
		return touched(n, "IP rule", id)
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// OrgRateLimits returns the organization's own rate limits.
func (s *Store) OrgRateLimits(ctx context.Context, orgID string) ([]guard.OrgLimit, error) {
	rows, err := s.query(ctx, "SELECT class, scope, requests, period_seconds, burst FROM org_rate_limits WHERE org_id = ? ORDER BY class, scope", orgID)
	if err != nil {
		return nil, s.fail(err, "list", "rate limits of organization", orgID)
	}
	defer rows.Close()
	var out []guard.OrgLimit
	for rows.Next() {
		var l guard.OrgLimit
		if err := rows.Scan(&l.Class, &l.Scope, &l.Requests, &l.PeriodSeconds, &l.Burst); err != nil {
			return nil, s.fail(err, "list", "rate limits of organization", orgID)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list", "rate limits of organization", orgID)
	}
	return out, nil
}

// SetOrgRateLimits replaces the organization's own rate limits, in one
// transaction so that no replica reads half of a change.
func (s *Store) SetOrgRateLimits(ctx context.Context, orgID string, limits []guard.OrgLimit, at time.Time) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.exec(ctx, "DELETE FROM org_rate_limits WHERE org_id = ?", orgID); err != nil {
			return s.fail(err, "update", "rate limits of organization", orgID)
		}
		for _, l := range limits {
			if _, err := s.exec(ctx, "INSERT INTO org_rate_limits (org_id, class, scope, requests, period_seconds, burst, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
				orgID, l.Class, l.Scope, l.Requests, l.PeriodSeconds, l.Burst, stamp(&at)); err != nil {
				return s.fail(err, "update", "rate limits of organization", orgID)
			}
		}
		return nil
	})
}
