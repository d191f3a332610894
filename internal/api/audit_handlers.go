package api

import (
	"net/http"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"bursar/internal/audit"
	"bursar/internal/errs"
	"bursar/internal/page"
)

// auditEventView is an audit entry as the API shows it: the entry, its
// leaf exactly as the tree hashes it, and, on request, the proof that the
// leaf is in the tree of the latest checkpoint.
type auditEventView struct {
	ID     string `json:"id"`
	Object string `json:"object"`
	*audit.Entry
	Leaf  string      `json:"leaf"`
	Proof *auditProof `json:"proof,omitempty"`
}

// auditProof is an inclusion proof: with the leaf's hash
// (tlog.RecordHash of the leaf), Hashes lead to the tree hash of the
// checkpoint of CheckpointSize entries (tlog.CheckRecord).
type auditProof struct {
	CheckpointSize int64       `json:"checkpoint_size"`
	LeafHash       tlog.Hash   `json:"leaf_hash"`
	Hashes         []tlog.Hash `json:"hashes"`
}

func (a *api) listAuditEvents(w http.ResponseWriter, r *http.Request, c caller) error {
	q := parseQuery(r, "object_type", "object_id", "actor", "action", "created_after", "created_before", "proof")
	f := audit.Filter{Tree: c.orgID, ObjectType: q.str("object_type"), ObjectID: q.str("object_id"),
		ActorID: q.str("actor"), Action: q.str("action")}
	after := q.v.Get("starting_after")
	q.v.Del("starting_after") // an entry id, not an ident: parsed below
	f.Params = q.page("aud")
	if after != "" {
		if _, err := audit.ParseEntryID(after); err != nil {
			q.f.Add("starting_after", "must be the id of the last audit event of the previous page, such as aud_12")
		}
		f.StartingAfter = after
	}
	f.CreatedAfter = queryTime(q, "created_after")
	f.CreatedBefore = queryTime(q, "created_before")
	if f.ObjectID != "" && f.ObjectType == "" {
		q.f.Add("object_id", "needs object_type too, such as object_type=invoice")
	}
	proof := false
	switch q.str("proof") {
	case "", "false":
	case "true":
		proof = true
	default:
		q.f.Add("proof", "must be true or false")
	}
	if err := q.err(); err != nil {
		return err
	}
	l, err := fetchList(f.Params, func(s *audit.Stored) string { return audit.EntryID(s.Entry.Index) }, func(p page.Params) ([]*audit.Stored, error) {
		f.Params = p
		return a.Audit.Store.ListAuditEntries(r.Context(), f)
	})
	if err != nil {
		return err
	}
	var cp *audit.Checkpoint
	if proof {
		cp, err = a.Audit.Store.LatestAuditCheckpoint(r.Context(), c.orgID)
		if errs.KindOf(err) == errs.NotFound {
			cp, err = nil, nil // nothing signed yet: no proofs to give
		}
		if err != nil {
			return err
		}
	}
	out := listOf[auditEventView]{Data: make([]auditEventView, len(l.Data)), HasMore: l.HasMore}
	for i, s := range l.Data {
		v := auditEventView{ID: audit.EntryID(s.Entry.Index), Object: "audit_event", Entry: s.Entry, Leaf: string(s.Leaf)}
		if cp != nil && s.Entry.Index < cp.Size {
			p, err := a.Audit.Prove(r.Context(), cp, s.Entry.Index)
			if err != nil {
				return err
			}
			v.Proof = &auditProof{CheckpointSize: cp.Size, LeafHash: tlog.RecordHash(s.Leaf), Hashes: p}
		}
		out.Data[i] = v
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// queryTime reads an RFC 3339 time filter.
func queryTime(q *query, name string) *time.Time {
	s := q.str(name)
	if s == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		q.f.Add(name, "must be a time written as in RFC 3339, such as 2026-01-31T00:00:00Z")
		return nil
	}
	return &t
}

// auditCheckpointView is the latest signed checkpoint of the caller's
// tree. Note is the signed note; an auditor checks it with the
// installation's verifier key, obtained out of band (bursar audit key).
type auditCheckpointView struct {
	Object    string    `json:"object"`
	Tree      string    `json:"tree"`
	Size      int64     `json:"size"`
	Hash      tlog.Hash `json:"hash"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

func (a *api) getAuditCheckpoint(w http.ResponseWriter, r *http.Request, c caller) error {
	if err := parseQuery(r).err(); err != nil {
		return err
	}
	cp, err := a.Audit.Store.LatestAuditCheckpoint(r.Context(), c.orgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, auditCheckpointView{Object: "audit_checkpoint", Tree: cp.Tree, Size: cp.Size,
		Hash: cp.Hash, Note: string(cp.Note), CreatedAt: cp.CreatedAt})
	return nil
}
