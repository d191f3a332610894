package privacy

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"bursar/internal/audit"
)

// PurgeBatch is how many units Purge removes per transaction: a long
// purge must not hold the audit tree's lock for minutes.
const PurgeBatch = 100

// PurgeReport says what a purge removed (or, dry, would remove) in one
// organization.
type PurgeReport struct {
	OrgID string `json:"org_id"`
	Units []Unit `json:"units"`
}

// Purge removes, in every organization, the issued documents whose
// retention period has ended on the day of now: each invoice together
// with its credit notes and payments, once all of them are past their
// classes' periods, in one transaction with an audit entry
// "invoice.purged" by the system actor. With dry, it only reports what it
// would remove. Drafts are no documents and are left alone.
func (s *Service) Purge(ctx context.Context, log *audit.Log, dry bool) ([]PurgeReport, error) {
	orgs, err := s.Store.ListOrganizationIDs(ctx)
	if err != nil {
		return nil, err
	}
	var out []PurgeReport
	for _, orgID := range orgs {
		r, err := s.purgeOrg(ctx, log, orgID, dry)
		if err != nil {
			return out, fmt.Errorf("privacy: purge %s: %w", orgID, err)
		}
		if len(r.Units) > 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *Service) purgeOrg(ctx context.Context, log *audit.Log, orgID string, dry bool) (PurgeReport, error) {
	r := PurgeReport{OrgID: orgID, Units: []Unit{}}
	o, err := s.Store.GetOrganization(ctx, orgID)
	if err != nil {
		return r, err
	}
	loc, err := time.LoadLocation(o.TimeZone)
	if err != nil {
		loc = time.UTC // org.Input validates the zone; an old row may name one this host lacks
	}
	policies, err := s.Retention(ctx, orgID)
	if err != nil {
		return r, err
	}
	cutoffs := Cutoffs(policies, s.Now(), loc)
	if dry {
		// Listing is read-only, so one call may list everything.
		units, err := s.Store.ExpiredUnits(ctx, orgID, cutoffs, 0)
		r.Units = append(r.Units, units...)
		return r, err
	}
	for {
		var batch []Unit
		err := s.Store.InTx(ctx, func(ctx context.Context) error {
			// Replicas may purge at once: without turns, two would list
			// the same units and each record their purge.
			if err := s.Store.LockPurge(ctx); err != nil {
				return err
			}
			units, err := s.Store.ExpiredUnits(ctx, orgID, cutoffs, PurgeBatch)
			if err != nil {
				return err
			}
			for _, u := range units {
				if err := s.Store.DeleteUnit(ctx, orgID, u); err != nil {
					return err
				}
				e := &audit.Entry{Tree: orgID, Time: s.Now().UTC(), Actor: audit.Actor{Type: audit.ActorSystem, ID: "job:purge"},
					Action: "invoice.purged", ObjectType: "invoice", ObjectID: u.InvoiceID, Fields: []audit.Field{
						{Name: "credit_note_ids", Value: mustJSON(u.CreditNoteIDs)},
						{Name: "customer_id", Value: mustJSON(u.CustomerID)},
						{Name: "number", Value: mustJSON(u.Number)},
						{Name: "payment_ids", Value: mustJSON(u.PaymentIDs)},
					}}
				if err := log.Append(ctx, e); err != nil {
					return err
				}
			}
			batch = units
			return nil
		})
		if err != nil {
			return r, err
		}
		r.Units = append(r.Units, batch...)
		if len(batch) < PurgeBatch {
			return r, nil
		}
	}
}

// PurgeEvery runs Purge every interval until ctx ends, and logs what each
// run removed or why it failed; a failed run is tried again at the next
// tick. Every replica may run it: purges take turns (Store.LockPurge),
// and one finds nothing left that another removed.
func (s *Service) PurgeEvery(ctx context.Context, log *audit.Log, interval time.Duration, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		reports, err := s.Purge(ctx, log, false)
		n := 0
		for _, r := range reports {
			n += len(r.Units)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error("purge of documents past retention failed", "err", err, "purged", n)
		case n > 0:
			logger.Info("purged documents past retention", "invoices", n, "organizations", len(reports))
		}
	}
}
