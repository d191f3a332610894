package api

import (
	"net/http"

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
	o, err = org.Update(r.Context(), a.Orgs, c.orgID, in, a.Now())
	a.forgetTimeZone(c.orgID) // even on error: the update may have been stored
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, o)
	return nil
}
