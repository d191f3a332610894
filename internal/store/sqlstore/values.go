package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"bursar/internal/money"
	"bursar/internal/page"
	"bursar/internal/party"
)

// Times are stored in UTC with microseconds, PostgreSQL's precision, as
// fixed-width text that sorts in time order on SQLite and that PostgreSQL
// reads into TIMESTAMPTZ. The store sets the times of what it writes to that
// precision, so that what a caller holds equals what it reads back.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// stamp normalizes t to the stored precision and returns its stored form.
func stamp(t *time.Time) string {
	*t = t.UTC().Truncate(time.Microsecond)
	return t.Format(timeLayout)
}

// stampPtr is stamp for optional times: nil stays NULL. It replaces the
// pointer rather than writing through it, which the caller may share.
func stampPtr(t **time.Time) any {
	if *t == nil {
		return nil
	}
	v := **t
	s := stamp(&v)
	*t = &v
	return s
}

// timeDest scans a stored time: TIMESTAMPTZ arrives as time.Time, SQLite's
// text as a string.
type timeDest struct{ t *time.Time }

func (d timeDest) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		*d.t = v.UTC()
		return nil
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	}
	return fmt.Errorf("cannot scan %T into a time", src)
}

func (d timeDest) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*d.t = t.UTC()
	return nil
}

// nullTimeDest scans an optional stored time.
type nullTimeDest struct{ t **time.Time }

func (d nullTimeDest) Scan(src any) error {
	if src == nil {
		*d.t = nil
		return nil
	}
	var t time.Time
	if err := (timeDest{&t}).Scan(src); err != nil {
		return err
	}
	*d.t = &t
	return nil
}

// jsonText returns v's JSON as text: the stored form of document content,
// snapshots and lists, in TEXT on SQLite and JSONB on PostgreSQL. Decimals
// marshal as strings, so no number in it is ever a float.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// jsonDest scans stored JSON into v.
type jsonDest struct{ v any }

func (d jsonDest) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("cannot scan %T as JSON", src)
	}
	return json.Unmarshal(b, d.v)
}

// minorUnits converts amounts of one currency to minor units, remembering
// the first amount that does not fit: one with more fraction digits than the
// currency has (a store never rounds silently) or beyond int64.
type minorUnits struct {
	cur money.Currency
	err error
}

func (m *minorUnits) of(field string, d money.Decimal) int64 {
	n, ok := d.MinorUnits(m.cur.Digits())
	if !ok && m.err == nil {
		m.err = fmt.Errorf("%s %s is not a whole number of minor units of %q", field, d, m.cur)
	}
	return n
}

// sealer.address and addressDests store a postal address in six columns,
// addressCols names them.
const addressCols = "address_line1, address_line2, address_city, address_postal_code, address_region, address_country"

func addressDests(a *party.Address) []any {
	return []any{&a.Line1, &a.Line2, &a.City, &a.PostalCode, &a.Region, &a.Country}
}

// listQuery builds the SELECT of one page of a list: the organization's
// rows matching the filters, newest first, strictly after the cursor.
type listQuery struct {
	where []string
	args  []any
}

func newList(orgID string) *listQuery {
	return &listQuery{where: []string{"org_id = ?"}, args: []any{orgID}}
}

// and adds a condition with its arguments.
func (l *listQuery) and(cond string, args ...any) *listQuery {
	l.where = append(l.where, cond)
	l.args = append(l.args, args...)
	return l
}

// andIf adds an equality condition when value is not empty.
func (l *listQuery) andIf(column, value string) *listQuery {
	if value != "" {
		l.and(column+" = ?", value)
	}
	return l
}

func (l *listQuery) sql(cols, table string, p page.Params) (string, []any) {
	if p.StartingAfter != "" {
		l.and("id < ?", p.StartingAfter)
	}
	q := "SELECT " + cols + " FROM " + table + " WHERE " + strings.Join(l.where, " AND ") + " ORDER BY id DESC LIMIT ?"
	return q, append(l.args, p.Size())
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface{ Scan(dest ...any) error }

// list runs a query and scans every row it returns.
func list[T any](ctx context.Context, s *Store, object, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, s.fail(err, "list", object, "")
	}
	defer rows.Close()
	out := []T{} // an empty list, never nil: it encodes as [] in JSON
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, s.fail(err, "list", object, "")
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list", object, "")
	}
	return out, nil
}

// columns splits a column list.
func columns(cols string) []string {
	parts := strings.Split(cols, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// insertSQL is the INSERT of one row of every column in cols.
func insertSQL(table, cols string) string {
	n := len(columns(cols))
	return "INSERT INTO " + table + " (" + cols + ") VALUES (" + strings.Repeat("?, ", n-1) + "?)"
}

// assignSQL is the SET list that assigns every column in cols.
func assignSQL(cols string) string {
	return strings.Join(columns(cols), " = ?, ") + " = ?"
}
