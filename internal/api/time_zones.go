package api

import (
	"context"
	"sync"
	"time"
)

// timeZoneTTL is how long the API trusts an organization's time zone it
// read: a change made by another process (another replica) shows in the
// overdue flag of invoices within that time; a change through this API at
// once.
const timeZoneTTL = time.Second

// timeZones caches the organizations' time zones, which every invoice
// answer needs and which hardly ever change, so that an answer costs no
// read of the organization. Freshness is measured on the process's
// monotonic clock, not on the API's clock, as the bound it keeps is in
// real time.
type timeZones struct {
	mu sync.Mutex
	m  map[string]cachedTimeZone
}

type cachedTimeZone struct {
	name    string
	fetched time.Time
}

// timeZoneOf returns the time zone of the organization.
func (a *api) timeZoneOf(ctx context.Context, orgID string) (string, error) {
	z := &a.zones
	z.mu.Lock()
	e, ok := z.m[orgID]
	z.mu.Unlock()
	if ok && time.Since(e.fetched) < timeZoneTTL {
		return e.name, nil
	}
	fetched := time.Now()
	o, err := a.Orgs.GetOrganization(ctx, orgID)
	if err != nil {
		return "", err
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.m == nil || len(z.m) >= 1024 {
		z.m = make(map[string]cachedTimeZone) // few organizations are active at once
	}
	z.m[orgID] = cachedTimeZone{name: o.TimeZone, fetched: fetched}
	return o.TimeZone, nil
}

// forgetTimeZone drops the cached time zone of the organization, whose
// settings change.
func (a *api) forgetTimeZone(orgID string) {
	a.zones.mu.Lock()
	defer a.zones.mu.Unlock()
	delete(a.zones.m, orgID)
}
