package api

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"bursar/internal/civil"
	"bursar/internal/errs"
	"bursar/internal/ident"
	"bursar/internal/page"
)

// pathID returns the route's {id}. An id that cannot name an object of the
// kind (its prefix, or one of the older prefixes of the kind) is not found
// without a lookup.
func pathID(r *http.Request, prefix, object string, older ...string) (string, error) {
	id := r.PathValue("id")
	if !validID(id, prefix, older) {
		if len(id) > 64 {
			id = id[:64] + "..."
		}
		return "", errs.NotFoundf(object, id)
	}
	return id, nil
}

// validID reports whether id has the type's prefix, or one of the older
// prefixes that ids of the type made before still carry.
func validID(id, prefix string, older []string) bool {
	return ident.Valid(id, prefix) || slices.ContainsFunc(older, func(p string) bool { return ident.Valid(id, p) })
}

// query reads the parameters of a list. Every list takes limit and
// starting_after besides its filters; an unknown or repeated parameter is
// refused, so that a misspelt filter never silently lists everything.
type query struct {
	v url.Values
	f errs.Fields
}

// parseQuery reads r's query string, which may hold the filters named.
func parseQuery(r *http.Request, filters ...string) *query {
	q := &query{}
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		q.f.Add("query", "is not a well-formed query string")
		return q
	}
	q.v = v
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch vals := v[name]; {
		case name != "limit" && name != "starting_after" && !slices.Contains(filters, name):
			q.f.Add(name, "is not a parameter of this list; it takes limit, starting_after%s", listOfNames(filters))
		case len(vals) > 1:
			q.f.Add(name, "must be given once")
		case len(vals[0]) > 320 || strings.IndexByte(vals[0], 0) >= 0:
			q.f.Add(name, "must be at most 320 characters, without NUL")
		}
	}
	return q
}

func listOfNames(filters []string) string {
	if len(filters) == 0 {
		return ""
	}
	return ", " + strings.Join(filters, ", ")
}

// page returns the page asked for; ids of the list's objects carry prefix.
func (q *query) page(prefix string, older ...string) page.Params {
	var p page.Params
	p.Limit = page.DefaultLimit
	if q.v.Has("limit") {
		n, err := strconv.Atoi(q.v.Get("limit"))
		if err != nil || n < 1 || n > page.MaxLimit {
			q.f.Add("limit", "must be an integer from 1 to %d", page.MaxLimit)
		} else {
			p.Limit = n
		}
	}
	if q.v.Has("starting_after") {
		if s := q.v.Get("starting_after"); !validID(s, prefix, older) {
			q.f.Add("starting_after", "must be the id of the last object of the previous page (%s_...)", prefix)
		} else {
			p.StartingAfter = s
		}
	}
	return p
}

// id returns the filter name, an id with the prefix, or "".
func (q *query) id(name, prefix string) string {
	if !q.v.Has(name) {
		return ""
	}
	s := q.v.Get(name)
	if !ident.Valid(s, prefix) {
		q.f.Add(name, "must be an id of the form %s_...", prefix)
		return ""
	}
	return s
}

// date returns the filter name, a date, or the zero date.
func (q *query) date(name string) civil.Date {
	if !q.v.Has(name) {
		return civil.Date{}
	}
	d, err := civil.Parse(q.v.Get(name))
	if err != nil {
		q.f.Add(name, "must be a date that exists, written YYYY-MM-DD")
	}
	return d
}

// str returns the filter name as given.
func (q *query) str(name string) string { return q.v.Get(name) }

// err returns the refused parameters as one error, or nil.
func (q *query) err() error {
	if len(q.f) == 0 {
		return nil
	}
	return &errs.Error{Kind: errs.Invalid, Code: codeInvalidParameter, Message: "the query has invalid parameters", Fields: q.f}
}

// dateRange checks that a from-to pair of date filters is in order.
func (q *query) dateRange(fromName string, from, to civil.Date) {
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		q.f.Add(fromName, "must not be after the end of the range")
	}
}

// fetchList gets one page of at most p.Limit objects, newest first, and
// whether more follow, by asking fetch for one object more than the page.
// A store returns at most page.MaxLimit objects (page.Params.Size caps the
// limit), so a full page of that size learns whether more follow from a
// second query of one object after its last, whose id gives id.
func fetchList[T any](p page.Params, id func(T) string, fetch func(page.Params) ([]T, error)) (listOf[T], error) {
	ask := p
	ask.Limit = min(p.Limit+1, page.MaxLimit)
	items, err := fetch(ask)
	if err != nil {
		return listOf[T]{}, err
	}
	switch {
	case len(items) > p.Limit:
		return listOf[T]{Data: items[:p.Limit], HasMore: true}, nil
	case len(items) == p.Limit && ask.Limit == p.Limit && p.Limit > 0:
		next, err := fetch(page.Params{Limit: 1, StartingAfter: id(items[len(items)-1])})
		if err != nil {
			return listOf[T]{}, err
		}
		return listOf[T]{Data: items, HasMore: len(next) > 0}, nil
	}
	return listOf[T]{Data: items}, nil
}

// writeList answers a page of a list, turning each object into its view.
func writeList[T, V any](w http.ResponseWriter, l listOf[T], view func(T) V) {
	out := listOf[V]{Data: make([]V, len(l.Data)), HasMore: l.HasMore}
	for i, x := range l.Data {
		out.Data[i] = view(x)
	}
	writeJSON(w, http.StatusOK, out)
}
