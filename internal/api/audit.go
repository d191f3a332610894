package api

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"

	"bursar/internal/audit"
	"bursar/internal/errs"
)

// change runs a business write and its audit entry in one transaction:
// fn does the write with the context it is given and returns the entry
// that describes it; the entry is appended last, under its tree's lock,
// and if it cannot be written the write is rolled back (DESIGN.md §7).
func (a *api) change(r *http.Request, c caller, fn func(ctx context.Context) (*audit.Entry, error)) error {
	return a.Audit.Store.InTx(r.Context(), func(ctx context.Context) error {
		e, err := fn(ctx)
		if err != nil {
			return err
		}
		a.stamp(r, c, e)
		return a.Audit.Append(ctx, e)
	})
}

// stamp fills in who made the entry, from where, and in which tree.
func (a *api) stamp(r *http.Request, c caller, e *audit.Entry) {
	e.Tree = c.orgID
	if e.Tree == "" {
		e.Tree = audit.SystemTree
	}
	if c.key != nil {
		e.Actor = audit.Actor{Type: audit.ActorAPIKey, ID: c.key.ID}
	} else if c.user != nil {
		e.Actor = audit.Actor{Type: audit.ActorUser, ID: c.user.ID}
	} else if e.Actor.Type == "" {
		e.Actor = audit.Actor{Type: audit.ActorSystem}
	}
	e.RequestID = requestID(r.Context())
	if addr, ok := a.clientAddr(r); ok {
		e.AddressHash = a.Audit.Keys.Hasher.HashPersonal(e.Tree, []byte(addr.String()))
	}
	e.Time = a.Now()
}

// clientAddr is the address of the client, as resolved in front of the
// API (behind trusted proxies, from their forwarding headers), or else
// the direct peer's.
func (a *api) clientAddr(r *http.Request) (netip.Addr, bool) {
	if a.ClientAddr != nil {
		if addr, ok := a.ClientAddr(r.Context()); ok {
			return addr, true
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	return addr.Unmap(), err == nil
}

// securityEvent appends an event that changes nothing (a refused key, a
// refused permission) in a transaction of its own. The refusal is answered
// whatever happens here; a failure to record it is logged.
func (a *api) securityEvent(r *http.Request, c caller, e *audit.Entry) {
	a.stamp(r, c, e)
	if c.key == nil && c.user == nil && e.Actor.Type == "" {
		e.Actor = audit.Actor{Type: audit.ActorAPIKey} // not known
	}
	ctx := context.WithoutCancel(r.Context())
	if err := a.Audit.Append(ctx, e); err != nil {
		a.Logger.ErrorContext(ctx, "api: audit security event", "request_id", requestID(ctx), "action", e.Action, "err", err)
	}
}

// entryOf describes a change of an object: the fields whose JSON differs
// between before (nil for a creation) and after (nil for a deletion), by
// the object type's audit.Policy.
func (a *api) entryOf(c caller, action, objectType, objectID string, before, after any) (*audit.Entry, error) {
	fields, err := audit.Changes(a.Audit.Keys.Hasher, c.orgID, objectType, before, after)
	if err != nil {
		return nil, err
	}
	return &audit.Entry{Action: action, ObjectType: objectType, ObjectID: objectID, Fields: fields}, nil
}

// auditRejected records a request refused for its credentials (401).
func (a *api) auditRejected(r *http.Request, rt route, err error) {
	if errs.KindOf(err) != errs.Unauthorized {
		return
	}
	a.securityEvent(r, caller{}, &audit.Entry{Action: "api_key.rejected", ObjectType: "route", ObjectID: rt.method + " " + rt.pattern})
}

// auditDenied records a request refused for its scopes or role (403).
func (a *api) auditDenied(r *http.Request, c caller, rt route, access string) {
	a.securityEvent(r, c, &audit.Entry{Action: "permission.denied", ObjectType: "route",
		ObjectID: rt.method + " " + rt.pattern, Fields: []audit.Field{
			{Name: "resource", Value: jsonString(rt.resource)}, {Name: "access", Value: jsonString(access)}}})
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s) // a string always encodes
	return b
}
