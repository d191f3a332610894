package sqlstore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"bursar/internal/auth/mfa"
	"bursar/internal/vault"
)

// sealedTable names the sealed columns of a table, for the re-encryption
// job, for SealedKeyIDs and so for key retirement: a value sealed in a
// column missing here would be lost when its key is retired. Every sealing
// in the store's writes, and the MFA seeds that internal/auth/mfa seals,
// has its column here; the store tests prove none is left in clear or
// under an old key.
type sealedTable struct {
	table string
	// orgCol holds the organization whose keys seal the row: org_id, or
	// id for organizations. Empty for a user's row, sealed under the
	// user's own keys (mfa.UserOwner of the row's id).
	orgCol string
	// idCol is the row's id, the row of the associated data; "id" if
	// empty.
	idCol string
	// hexID says that idCol is binary and the row of the associated data
	// is its hex form.
	hexID bool
	text  []string // sealed text columns (SealText)
	json  []string // sealed JSON columns
	bytes []string // sealed binary columns, raw ciphertext (Seal)
	// indexes are the blind indexes computed from sealed columns.
	indexes []blindIndex
}

type blindIndex struct {
	column, of string
	normalize  func(string) string
	// server says that the index is keyed by the installation's index
	// key (see Store.serverIndex), not by the row's owner.
	server bool
}

func (t sealedTable) id() string {
	if t.idCol == "" {
		return "id"
	}
	return t.idCol
}

// owner returns whose keys seal the row: the organization it is read for,
// or the user the row belongs to.
func (t sealedTable) owner(org, id string) string {
	if t.orgCol == "" {
		return mfa.UserOwner(id)
	}
	return org
}

// rowID is the row of the associated data of a row whose id column
// holds id.
func (t sealedTable) rowID(id []byte) string {
	if t.hexID {
		return hex.EncodeToString(id)
	}
	return string(id)
}

// idArg is an id read from the table as an argument of a statement.
func (t sealedTable) idArg(id []byte) any {
	if t.hexID {
		return append([]byte{}, id...) // never nil, which would be NULL
	}
	return string(id)
}

// cols lists the id, the sealed columns and the indexes, as read.
func (t sealedTable) cols() []string {
	cols := append(append(append([]string{t.id()}, t.text...), t.json...), t.bytes...)
	for _, ix := range t.indexes {
		cols = append(cols, ix.column)
	}
	return cols
}

// selectSQL reads a batch of the table's rows in id order: of an
// organization (the first argument) if the table has one, then after an
// id, up to a limit.
func (t sealedTable) selectSQL(cols []string) string {
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + t.table + " WHERE "
	if t.orgCol != "" {
		q += t.orgCol + " = ? AND "
	}
	return q + t.id() + " > ? ORDER BY " + t.id() + " LIMIT ?"
}

// emailIndex is the blind index of users' and invitations' emails.
var emailIndex = blindIndex{column: "email_bidx", of: "email", normalize: vault.NormalizeEmail, server: true}

var sealedTables = []sealedTable{
	{table: "organizations", orgCol: "id",
		text: []string{"email", "address_line1", "address_line2", "address_city", "address_postal_code", "vat_id", "tax_id"}},
	{table: "customers", orgCol: "org_id",
		text:    []string{"name", "email", "address_line1", "address_line2", "address_city", "address_postal_code", "tax_id", "notes"},
		json:    []string{"cc_emails"},
		indexes: []blindIndex{{column: "email_bidx", of: "email", normalize: vault.NormalizeEmail}, {column: "tax_id_bidx", of: "tax_id", normalize: vault.NormalizeTaxID}}},
	{table: "invoices", orgCol: "org_id", text: []string{"notes"}, json: []string{"buyer", "seller"}},
	{table: "credit_notes", orgCol: "org_id", text: []string{"reason"}, json: []string{"buyer", "seller"}},
	{table: "idempotency_keys", orgCol: "org_id", idCol: "idem_key", bytes: []string{"body"}},
	{table: "invitations", orgCol: "org_id", text: []string{"email"}, indexes: []blindIndex{emailIndex}},
	{table: "users", text: []string{"email"}, indexes: []blindIndex{emailIndex}},
	{table: "mfa_totp", idCol: "user_id", bytes: []string{"secret"}},
	{table: "sso_configs", orgCol: "org_id", idCol: "org_id", text: []string{"client_secret"}},
	{table: "sso_flows", orgCol: "org_id", idCol: "state_hash", hexID: true, text: []string{"verifier"}},
}

// ReencryptStats counts what a pass of Reencrypt did.
type ReencryptStats struct {
	// Rows is the number of rows rewritten.
	Rows int
	// Conflicts counts rows that changed between read and rewrite: they
	// were left as the other writer wrote them, and a next pass looks at
	// them again.
	Conflicts int
}

// Reencrypt makes one pass over every sealed column of every owner (each
// organization, each user) and seals again, with the owner's primary key,
// each value sealed with an older key or stored in clear (before sealing
// existed); it recomputes the blind indexes of what it seals again. It
// reads batch rows at a time and rewrites each row in a statement of its
// own, only if the row still holds what was read, so it runs beside the
// server's requests: a concurrent write wins, and reads keep working
// throughout, as older keys still open. Repeat passes until one rewrites
// nothing and meets no conflict.
func (s *Store) Reencrypt(ctx context.Context, batch int) (ReencryptStats, error) {
	var st ReencryptStats
	if s.vault == nil {
		return st, fmt.Errorf("%s: re-encrypt: %w", s.d.Name, errNoVault)
	}
	orgs, err := s.stringList(ctx, "SELECT id FROM organizations ORDER BY id")
	if err != nil {
		return st, err
	}
	for _, t := range sealedTables {
		owners := orgs
		if t.orgCol == "" {
			owners = []string{""} // the owner is in each row
		}
		for _, org := range owners {
			if err := s.reencryptTable(ctx, org, t, batch, &st); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// args puts the organization before the other arguments of a statement
// of selectSQL, if the table has one.
func (t sealedTable) args(org string, rest ...any) []any {
	if t.orgCol == "" {
		return rest
	}
	return append([]any{org}, rest...)
}

func (s *Store) reencryptTable(ctx context.Context, org string, t sealedTable, batch int, st *ReencryptStats) error {
	cols := t.cols()
	q := t.selectSQL(cols)
	after := t.idArg(nil)
	for {
		rows, err := s.readBatch(ctx, q, len(cols), t.args(org, after, batch)...)
		if err != nil {
			return s.fail(err, "re-encrypt", t.table, org)
		}
		for _, r := range rows {
			changed, ok, err := s.reencryptRow(ctx, org, t, cols, r)
			if err != nil {
				return err
			}
			if changed && ok {
				st.Rows++
			} else if changed {
				st.Conflicts++
			}
		}
		if len(rows) < batch {
			return nil
		}
		after = t.idArg(rows[len(rows)-1][0])
	}
}

// readBatch reads rows of n columns as bytes: text, JSON and binary
// columns alike.
func (s *Store) readBatch(ctx context.Context, q string, n int, args ...any) ([][][]byte, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][][]byte
	for rows.Next() {
		r := make([][]byte, n)
		dests := make([]any, n)
		for i := range r {
			dests[i] = &r[i]
		}
		if err := rows.Scan(dests...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// reencryptRow seals again the values of one row that need it. changed
// reports that some did; ok that the row was rewritten.
func (s *Store) reencryptRow(ctx context.Context, org string, t sealedTable, cols []string, r [][]byte) (changed, ok bool, err error) {
	id := t.rowID(r[0])
	owner := t.owner(org, id)
	fail := func(column string, err error) (bool, bool, error) {
		return false, false, fmt.Errorf("%s: re-encrypt %s.%s of %s: %w", s.d.Name, t.table, column, id, err)
	}
	primary, err := s.vault.PrimaryKeyID(ctx, owner)
	if err != nil {
		return fail("*", err)
	}
	x := s.sealer(ctx, owner, t.table, id)
	set := map[string]any{}
	plain := map[string]string{} // the plaintext of what is sealed again
	for i, c := range t.text {
		v := string(r[1+i])
		if kid, sealed := vault.TextKeyID(v); v == "" || sealed && kid == primary {
			continue
		}
		x.open(c, &v)
		set[c], plain[c] = x.text(c, v), v
	}
	for i, c := range t.json {
		v := string(r[1+len(t.text)+i])
		if isSealedJSON(v) {
			v = v[1 : len(v)-1]
		} // else JSON in clear: seal it whole
		if kid, sealed := vault.TextKeyID(v); v == "" || sealed && kid == primary {
			continue
		}
		x.open(c, &v)
		set[c], plain[c] = x.jsonText(c, v), v
	}
	if x.err != nil {
		return fail("*", x.err)
	}
	for i, c := range t.bytes {
		v := r[1+len(t.text)+len(t.json)+i]
		kid, sealed := vault.KeyID(v)
		if len(v) == 0 || sealed && kid == primary {
			continue
		}
		if sealed { // else in clear
			if v, err = s.vault.Open(ctx, owner, t.table, c, id, v); err != nil {
				return fail(c, err)
			}
		}
		ct, err := s.vault.Seal(ctx, owner, t.table, c, id, v)
		if err != nil {
			return fail(c, err)
		}
		set[c] = ct
	}
	for j, ix := range t.indexes {
		stored := string(r[len(r)-len(t.indexes)+j])
		of := string(r[indexOf(cols, ix.of)])
		pt, resealed := plain[ix.of]
		if !resealed && (stored != "" || of == "") {
			continue
		}
		if !resealed {
			pt = of
			if x.open(ix.of, &pt); x.err != nil {
				return fail(ix.of, x.err)
			}
		}
		v, err := s.index(x, ix, pt)
		if err != nil {
			return fail(ix.column, err)
		}
		if v != stored {
			set[ix.column] = v
		}
	}
	if len(set) == 0 {
		return false, false, nil
	}
	var assign, where []string
	var args, whereArgs []any
	for i, c := range cols[1:] {
		nv, ok := set[c]
		if !ok {
			continue
		}
		assign = append(assign, c+" = ?")
		args = append(args, nv)
		where = append(where, c+" = ?")
		if _, raw := nv.([]byte); raw {
			whereArgs = append(whereArgs, r[i+1])
		} else {
			whereArgs = append(whereArgs, string(r[i+1]))
		}
	}
	q := "UPDATE " + t.table + " SET " + strings.Join(assign, ", ") + " WHERE " + t.id() + " = ? AND " + strings.Join(where, " AND ")
	args = append(append(args, t.idArg(r[0])), whereArgs...)
	if t.orgCol != "" {
		q += " AND " + t.orgCol + " = ?"
		args = append(args, org)
	}
	n, err := s.exec(ctx, q, args...)
	if err != nil {
		return true, false, s.fail(err, "re-encrypt", t.table, id)
	}
	return true, n == 1, nil
}

// index computes a blind index of the plaintext pt for the row x seals.
func (s *Store) index(x *sealer, ix blindIndex, pt string) (string, error) {
	if ix.server {
		return s.serverIndex(x.ctx, ix.of, ix.normalize(pt))
	}
	v := x.index(ix.of, ix.normalize(pt))
	return v, x.err
}

func indexOf(cols []string, c string) int {
	for i, x := range cols {
		if x == c {
			return i
		}
	}
	return -1
}

// SealedKeyIDs counts the sealed values of an owner (an organization, or
// mfa.UserOwner of a user) by the id of the key that sealed them, over
// every sealed column; values in clear count under 0. Operators and tests
// use it to see a rotation through, and RetireKeys to know which keys are
// still in use.
func (s *Store) SealedKeyIDs(ctx context.Context, owner string) (map[uint32]int, error) {
	out := map[uint32]int{}
	user, isUser := strings.CutPrefix(owner, mfa.UserOwner(""))
	for _, t := range sealedTables {
		if (t.orgCol == "") != isUser {
			continue
		}
		cols := append(append(append([]string{t.id()}, t.text...), t.json...), t.bytes...)
		if isUser {
			rows, err := s.readBatch(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+t.table+" WHERE "+t.id()+" = ?", len(cols), user)
			if err != nil {
				return nil, s.fail(err, "count keys of", t.table, owner)
			}
			countKeyIDs(out, t, rows)
			continue
		}
		q := t.selectSQL(cols)
		after := t.idArg(nil)
		for {
			rows, err := s.readBatch(ctx, q, len(cols), t.args(owner, after, 500)...)
			if err != nil {
				return nil, s.fail(err, "count keys of", t.table, owner)
			}
			countKeyIDs(out, t, rows)
			if len(rows) < 500 {
				break
			}
			after = t.idArg(rows[len(rows)-1][0])
		}
	}
	return out, nil
}

func countKeyIDs(out map[uint32]int, t sealedTable, rows [][][]byte) {
	for _, r := range rows {
		for i, v := range r[1:] {
			if len(v) == 0 {
				continue
			}
			var id uint32
			switch {
			case i >= len(t.text)+len(t.json): // binary
				id, _ = vault.KeyID(v)
			case i >= len(t.text) && isSealedJSON(string(v)):
				id, _ = vault.TextKeyID(string(v[1 : len(v)-1]))
			default:
				id, _ = vault.TextKeyID(string(v))
			}
			out[id]++
		}
	}
}

// RetireStats counts what RetireKeys did.
type RetireStats struct {
	// Retired is the number of data keys deleted.
	Retired int
	// Skipped counts key rings left as they were: changed too recently
	// or meanwhile (a later run retires their keys), or of an owner the
	// store does not know to count for.
	Skipped int
}

// RetireKeys deletes, from every key ring the store seals with (each
// organization's, each user's and the installation's), the data keys
// that no sealed value uses any more (vault.Vault.Retire): run it after
// re-encryption passes found nothing left to do. Key rings changed less
// than settle ago are skipped (pass the replicas' key cache time, or 0
// when no other process uses the keys). Only the owners whose sealed
// values SealedKeyIDs can count are touched: a key ring of any other
// owner keeps its keys.
func (s *Store) RetireKeys(ctx context.Context, settle time.Duration) (RetireStats, error) {
	var st RetireStats
	if s.vault == nil {
		return st, fmt.Errorf("%s: retire keys: %w", s.d.Name, errNoVault)
	}
	owners, err := s.vault.Orgs(ctx)
	if err != nil {
		return st, err
	}
	orgs, err := s.stringList(ctx, "SELECT id FROM organizations")
	if err != nil {
		return st, err
	}
	for _, o := range owners {
		if o != vault.ServerOwner && !strings.HasPrefix(o, mfa.UserOwner("")) && !slices.Contains(orgs, o) {
			st.Skipped++
			continue
		}
		ids, err := s.vault.Retire(ctx, o, settle, func(ctx context.Context) (map[uint32]int, error) { return s.SealedKeyIDs(ctx, o) })
		if errors.Is(err, vault.ErrKeysRecent) || errors.Is(err, vault.ErrKeysChanged) {
			st.Skipped++
			continue
		}
		if err != nil {
			return st, err
		}
		st.Retired += len(ids)
	}
	return st, nil
}
