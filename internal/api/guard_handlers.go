package api

import (
	"context"
	"net/http"
	"time"

	"bursar/internal/audit"
	"bursar/internal/errs"
	"bursar/internal/guard"
)

// ipRuleInput asks for a new address rule.
type ipRuleInput struct {
	Action guard.Action `json:"action"`
	CIDR   string       `json:"cidr"`
	Note   string       `json:"note"`
	// ExpiresAt is an RFC 3339 time, or "" for a rule that does not
	// expire.
	ExpiresAt string `json:"expires_at"`
}

// errNoGuard answers the guard's routes on a server that runs without it
// (tests that wire only the API).
var errNoGuard = errs.E(errs.NotFound, "not_found", "this server does not manage address rules or rate limits")

// serverAdmin refuses a caller whose organization may not manage what
// protects the whole server: on a server shared by several businesses only
// the operator's organization (--admin-org) may.
func (a *api) serverAdmin(c caller) error {
	if a.ServerAdmin != nil && !a.ServerAdmin(c.orgID) {
		return errs.E(errs.Forbidden, "not_server_admin", "only API keys of the server's admin organization may manage address rules")
	}
	return nil
}

// byKey names the API key that makes a change, for the rule's created_by
// and the change log.
func byKey(c caller) string {
	if c.key == nil {
		return "user:" + c.actorID() + "@" + c.orgID
	}
	return "api_key:" + c.key.ID + "@" + c.orgID
}

func (a *api) listIPRules(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.IPRules == nil {
		return errNoGuard
	}
	if err := a.serverAdmin(c); err != nil {
		return err
	}
	rules, err := a.IPRules.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf[*guard.IPRule]{Data: rules})
	return nil
}

func (a *api) createIPRule(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.IPRules == nil {
		return errNoGuard
	}
	if err := a.serverAdmin(c); err != nil {
		return err
	}
	var in ipRuleInput
	if err := decode(r, &in); err != nil {
		return err
	}
	var expires *time.Time
	if in.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, in.ExpiresAt)
		if err != nil {
			var f errs.Fields
			f.Add("expires_at", "must be a time written as in RFC 3339, such as 2027-01-31T00:00:00Z")
			return f.Err()
		}
		expires = &t
	}
	var rule *guard.IPRule
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		var err error
		if rule, err = a.IPRules.Add(ctx, in.Action, in.CIDR, in.Note, byKey(c), expires); err != nil {
			return nil, err
		}
		return a.entryOf(c, "ip_rule.created", "ip_rule", rule.ID, nil, rule)
	})
	// Add dropped this replica's copy of the rules inside the transaction;
	// a request may have read them again before the commit.
	a.IPRules.Invalidate()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, rule)
	return nil
}

func (a *api) deleteIPRule(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.IPRules == nil {
		return errNoGuard
	}
	if err := a.serverAdmin(c); err != nil {
		return err
	}
	id, err := pathID(r, "ipr", "IP rule")
	if err != nil {
		return err
	}
	var rule *guard.IPRule
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		var err error
		if rule, err = a.IPRules.Remove(ctx, id, byKey(c)); err != nil {
			return nil, err
		}
		return a.entryOf(c, "ip_rule.deleted", "ip_rule", rule.ID, rule, nil)
	})
	a.IPRules.Invalidate()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rule)
	return nil
}

// rateLimits is the body of GET and PUT /v1/organization/rate-limits: the
// organization's own limits, which replace the server's defaults for its
// keys and for itself.
type rateLimits struct {
	Limits []guard.OrgLimit `json:"limits"`
}

func (a *api) getRateLimits(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.RateLimitStore == nil {
		return errNoGuard
	}
	limits, err := a.RateLimitStore.OrgRateLimits(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rateLimits{Limits: limits})
	return nil
}

// setRateLimits replaces the organization's own limits. It is in force on
// this replica at once and on the others within a few seconds.
func (a *api) setRateLimits(w http.ResponseWriter, r *http.Request, c caller) error {
	if a.RateLimitStore == nil {
		return errNoGuard
	}
	var in rateLimits
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := guard.ValidateOrgLimits(in.Limits); err != nil {
		return err
	}
	err := a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		before, err := a.RateLimitStore.OrgRateLimits(ctx, c.orgID)
		if err != nil {
			return nil, err
		}
		if err := a.RateLimitStore.SetOrgRateLimits(ctx, c.orgID, in.Limits, a.Now()); err != nil {
			return nil, err
		}
		return a.entryOf(c, "organization.rate_limits_updated", "organization", c.orgID, rateLimits{before}, in)
	})
	a.Limiter.ForgetOrg(c.orgID) // even on error: the change may have been stored
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, in)
	return nil
}
