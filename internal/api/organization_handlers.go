package api

import (
	"context"
	"net/http"

	"bursar/internal/audit"
	"bursar/internal/org"
)

func (a *api) getOrganization(w http.ResponseWriter, r *http.Request, c caller) error {
	o, err := a.Orgs.GetOrganization(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}

func (a *api) updateOrganization(w http.ResponseWriter, r *http.Request, c caller) error {
	o, err := a.Orgs.GetOrganization(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	in := org.InputOf(o)
	if err := decode(r, &in); err != nil {
		return err
	}
	err = a.change(r, c, func(ctx context.Context) (*audit.Entry, error) {
		before, err := a.Orgs.GetOrganization(ctx, c.orgID)
		if err != nil {
			return nil, err
		}
		o, err = org.Update(ctx, a.Orgs, c.orgID, in, a.Now())
		if err != nil {
			return nil, err
		}
		return a.entryOf(c, "organization.updated", "organization", c.orgID, before, o)
	})
	a.forgetTimeZone(c.orgID) // even on error: the update may have been stored
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}
