package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"bursar/internal/vault"
)

// sealedTable names the sealed columns of a table, for the re-encryption
// job. Every sealing in the store's writes has its column here; the store
// tests prove none is left in clear.
type sealedTable struct {
	table string
	// orgCol holds the organization: org_id, or id for organizations.
	orgCol string
	text   []string // sealed text columns
	json   []string // sealed JSON columns
	// indexes are the blind indexes computed from sealed columns.
	indexes []blindIndex
}

type blindIndex struct {
	column, of string
	normalize  func(string) string
}

var sealedTables = []sealedTable{
	{table: "organizations", orgCol: "id",
		text: []string{"email", "address_line1", "address_line2", "address_city", "address_postal_code", "vat_id", "tax_id"}},
	{table: "customers", orgCol: "org_id",
		text:    []string{"email", "address_line1", "address_line2", "address_city", "address_postal_code", "tax_id", "notes"},
		json:    []string{"cc_emails"},
		indexes: []blindIndex{{"email_bidx", "email", vault.NormalizeEmail}, {"tax_id_bidx", "tax_id", vault.NormalizeTaxID}}},
	{table: "invoices", orgCol: "org_id", text: []string{"notes"}, json: []string{"buyer", "seller"}},
	{table: "credit_notes", orgCol: "org_id", text: []string{"reason"}, json: []string{"buyer", "seller"}},
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

// Reencrypt makes one pass over every sealed column of every organization
// and seals again, with the organization's primary key, each value sealed
// with an older key or stored in clear (before sealing existed); it
// recomputes the blind indexes of what it seals again. It reads batch rows
// at a time and rewrites each row in a statement of its own, only if the
// row still holds what was read, so it runs beside the server's requests:
// a concurrent write wins, and reads keep working throughout, as older
// keys still open. Repeat passes until one rewrites nothing and meets no
// conflict.
func (s *Store) Reencrypt(ctx context.Context, batch int) (ReencryptStats, error) {
	var st ReencryptStats
	if s.vault == nil {
		return st, fmt.Errorf("%s: re-encrypt: %w", s.d.Name, errNoVault)
	}
	orgs, err := s.stringList(ctx, "SELECT id FROM organizations ORDER BY id")
	if err != nil {
		return st, err
	}
	for _, org := range orgs {
		for _, t := range sealedTables {
			if err := s.reencryptTable(ctx, org, t, batch, &st); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

func (s *Store) reencryptTable(ctx context.Context, org string, t sealedTable, batch int, st *ReencryptStats) error {
	cols := append(append([]string{"id"}, t.text...), t.json...)
	for _, ix := range t.indexes {
		cols = append(cols, ix.column)
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + t.table + " WHERE " + t.orgCol + " = ? AND id > ? ORDER BY id LIMIT ?"
	after := ""
	for {
		rows, err := s.readBatch(ctx, q, len(cols), org, after, batch)
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
		after = rows[len(rows)-1][0]
	}
}

func (s *Store) readBatch(ctx context.Context, q string, n int, args ...any) ([][]string, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		r := make([]string, n)
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
func (s *Store) reencryptRow(ctx context.Context, org string, t sealedTable, cols, r []string) (changed, ok bool, err error) {
	id := r[0]
	x := s.sealer(ctx, org, t.table, id)
	set := map[string]string{}
	plain := map[string]string{}
	for i, c := range cols[1:] {
		v := r[i+1]
		isJSON := i >= len(t.text) && i < len(t.text)+len(t.json)
		if i >= len(t.text)+len(t.json) {
			break // the blind indexes, below
		}
		inner := v
		if isJSON {
			if !isSealedJSON(v) {
				inner = v // JSON in clear: seal it whole
			} else {
				inner = v[1 : len(v)-1]
			}
		}
		if vault.IsSealedText(inner) {
			cur, err := s.vault.Current(ctx, org, inner)
			if err != nil {
				return false, false, err
			}
			if cur {
				continue
			}
		} else if inner == "" {
			continue
		}
		pt := inner
		x.open(c, &pt)
		if isJSON {
			set[c] = x.jsonText(c, pt)
		} else {
			set[c] = x.text(c, pt)
		}
		plain[c] = pt
		if x.err != nil {
			return false, false, fmt.Errorf("%s: re-encrypt %s.%s of %s: %w", s.d.Name, t.table, c, id, x.err)
		}
	}
	for j, ix := range t.indexes {
		pt, resealed := plain[ix.of]
		stored := r[len(r)-len(t.indexes)+j]
		if !resealed && !(stored == "" && r[indexOf(cols, ix.of)] != "") {
			continue
		}
		if !resealed {
			pt = r[indexOf(cols, ix.of)]
			x.open(ix.of, &pt)
		}
		if v := x.index(ix.of, ix.normalize(pt)); v != stored {
			set[ix.column] = v
		}
		if x.err != nil {
			return false, false, fmt.Errorf("%s: re-encrypt %s.%s of %s: %w", s.d.Name, t.table, ix.column, id, x.err)
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
		whereArgs = append(whereArgs, r[i+1])
	}
	q := "UPDATE " + t.table + " SET " + strings.Join(assign, ", ") + " WHERE " + t.orgCol + " = ? AND id = ? AND " + strings.Join(where, " AND ")
	args = append(append(args, org, id), whereArgs...)
	n, err := s.exec(ctx, q, args...)
	if err != nil {
		return true, false, s.fail(err, "re-encrypt", t.table, id)
	}
	return true, n == 1, nil
}

func indexOf(cols []string, c string) int {
	for i, x := range cols {
		if x == c {
			return i
		}
	}
	return -1
}

// SealedKeyIDs counts the organization's sealed values by the id of the
// key that sealed them, over every sealed column; values in clear count
// under 0. Operators and tests use it to see a rotation through.
func (s *Store) SealedKeyIDs(ctx context.Context, org string) (map[uint32]int, error) {
	out := map[uint32]int{}
	for _, t := range sealedTables {
		cols := append(append([]string{"id"}, t.text...), t.json...)
		q := "SELECT " + strings.Join(cols, ", ") + " FROM " + t.table + " WHERE " + t.orgCol + " = ? AND id > ? ORDER BY id LIMIT ?"
		after := ""
		for {
			rows, err := s.readBatch(ctx, q, len(cols), org, after, 500)
			if err != nil {
				return nil, s.fail(err, "count keys of", t.table, org)
			}
			for _, r := range rows {
				for i, v := range r[1:] {
					if i >= len(t.text) && isSealedJSON(v) {
						v = v[1 : len(v)-1]
					}
					if v == "" {
						continue
					}
					id, _ := vault.TextKeyID(v)
					out[id]++
				}
			}
			if len(rows) < 500 {
				break
			}
			after = rows[len(rows)-1][0]
		}
	}
	return out, nil
}
