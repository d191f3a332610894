package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"bursar/internal/party"
	"bursar/internal/vault"
)

// Option configures a Store.
type Option func(*Store)

// WithKEK makes the store seal personal data and secrets with envelope
// encryption: data keys per organization, kept in the vault_keys table
// wrapped by kek. Without it the store writes those columns in clear and
// refuses to read a sealed one; only tests and tools that never see
// production data should open a store so.
func WithKEK(kek vault.KEK, opts ...vault.Option) Option {
	return func(s *Store) { s.vault = vault.New(kek, s, opts...) }
}

// Vault returns the store's vault, nil when it was opened without a
// key-encryption key. Other packages seal their own secrets with it (MFA
// seeds, backups), within the organization they belong to.
func (s *Store) Vault() *vault.Vault { return s.vault }

// The vault keeps its wrapped keys in the vault_keys table.
var _ vault.KeyStore = (*Store)(nil)

const vaultKeysSQL = "SELECT keyset, index_key, version, updated_at FROM vault_keys WHERE org_id = ?"

// OrgKeys implements vault.KeyStore. Inside a transaction, keys already
// committed are read from the pool and reported committed; keys only this
// transaction sees are not, so the vault does not cache what a rollback
// would take back.
func (s *Store) OrgKeys(ctx context.Context, org string) (vault.WrappedKeys, bool, error) {
	w, err := s.readOrgKeys(ctx, s.db, org)
	if err == nil || !errors.Is(err, vault.ErrNoKeys) || s.txOf(ctx) == nil {
		return w, err == nil, err
	}
	w, err = s.readOrgKeys(ctx, s.txOf(ctx), org)
	return w, false, err
}

func (s *Store) readOrgKeys(ctx context.Context, on querier, org string) (vault.WrappedKeys, error) {
	var ks, ik string
	var w vault.WrappedKeys
	rows, err := s.queryOn(ctx, on, vaultKeysSQL, []any{org})
	err = row{rows, err}.Scan(&ks, &ik, &w.Version, timeDest{&w.Changed})
	if errors.Is(err, sql.ErrNoRows) {
		return w, vault.ErrNoKeys
	}
	if err != nil {
		return w, s.fail(err, "get", "vault keys of", org)
	}
	if w.Keyset, err = base64.StdEncoding.DecodeString(ks); err != nil {
		return w, fmt.Errorf("%s: vault keys of %s: %w", s.d.Name, org, err)
	}
	if w.IndexKey, err = base64.StdEncoding.DecodeString(ik); err != nil {
		return w, fmt.Errorf("%s: vault keys of %s: %w", s.d.Name, org, err)
	}
	return w, nil
}

// changedAt is when keys were changed: as the vault says, else now.
func changedAt(w vault.WrappedKeys) time.Time {
	if w.Changed.IsZero() {
		return time.Now()
	}
	return w.Changed
}

// CreateOrgKeys implements vault.KeyStore.
func (s *Store) CreateOrgKeys(ctx context.Context, org string, w vault.WrappedKeys) error {
	now := changedAt(w)
	n, err := s.exec(ctx, `INSERT INTO vault_keys (org_id, keyset, index_key, version, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org_id) DO NOTHING`, org, base64.StdEncoding.EncodeToString(w.Keyset),
		base64.StdEncoding.EncodeToString(w.IndexKey), w.Version, stamp(&now))
	if err != nil {
		return s.fail(err, "create", "vault keys of", org)
	}
	if n == 0 {
		return vault.ErrKeysChanged
	}
	return nil
}

// UpdateOrgKeys implements vault.KeyStore.
func (s *Store) UpdateOrgKeys(ctx context.Context, org string, w vault.WrappedKeys) error {
	now := changedAt(w)
	n, err := s.exec(ctx, "UPDATE vault_keys SET keyset = ?, index_key = ?, version = ?, updated_at = ? WHERE org_id = ? AND version = ?",
		base64.StdEncoding.EncodeToString(w.Keyset), base64.StdEncoding.EncodeToString(w.IndexKey), w.Version, stamp(&now),
		org, w.Version-1)
	if err != nil {
		return s.fail(err, "update", "vault keys of", org)
	}
	if n == 0 {
		return vault.ErrKeysChanged
	}
	return nil
}

// KeyOrgs implements vault.KeyStore.
func (s *Store) KeyOrgs(ctx context.Context) ([]string, error) {
	return s.stringList(ctx, "SELECT org_id FROM vault_keys ORDER BY org_id")
}

func (s *Store) stringList(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, s.fail(err, "list", "ids", "")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, s.fail(err, "list", "ids", "")
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list", "ids", "")
	}
	return out, nil
}

// errNoVault reports a sealed value read by a store without the key.
var errNoVault = errors.New("the value is sealed but the store was opened without a key-encryption key")

// sealer seals the columns of one row, remembering the first error, so
// that argument lists read as they did before sealing.
type sealer struct {
	ctx             context.Context
	s               *Store
	org, table, row string
	err             error
}

func (s *Store) sealer(ctx context.Context, org, table, row string) *sealer {
	return &sealer{ctx: ctx, s: s, org: org, table: table, row: row}
}

// text seals a text column.
func (x *sealer) text(column, v string) string {
	if x.s.vault == nil || x.err != nil {
		return v
	}
	out, err := x.s.vault.SealText(x.ctx, x.org, x.table, column, x.row, v)
	if err != nil {
		x.err = err
	}
	return out
}

// json seals v's JSON for a JSON column (JSONB on PostgreSQL): the sealed
// text is stored as a JSON string.
func (x *sealer) json(column string, v any) string {
	raw, err := jsonText(v)
	if err != nil {
		x.err = err
		return ""
	}
	return x.jsonText(column, raw)
}

func (x *sealer) jsonText(column, raw string) string {
	if x.s.vault == nil || x.err != nil {
		return raw
	}
	// Base64 and the prefix need no escaping in a JSON string.
	return `"` + x.text(column, raw) + `"`
}

// index returns the blind index of a normalized value of column. Without
// a vault it is the value itself: such a store keeps everything in clear.
func (x *sealer) index(column, normalized string) string {
	if x.s.vault == nil || x.err != nil {
		return normalized
	}
	out, err := x.s.vault.BlindIndex(x.ctx, x.org, x.table, column, normalized)
	if err != nil {
		x.err = err
	}
	return out
}

// address seals the lines, city and postal code of an address; region and
// country stay clear, as tax rules read them and they name no one.
func (x *sealer) address(a party.Address) []any {
	return []any{x.text("address_line1", a.Line1), x.text("address_line2", a.Line2), x.text("address_city", a.City),
		x.text("address_postal_code", a.PostalCode), a.Region, a.Country}
}

// opener opens the columns of one row read from the database.
type opener = sealer

func (s *Store) opener(ctx context.Context, org, table, row string) *opener {
	return s.sealer(ctx, org, table, row)
}

// open opens a text column in place.
func (x *opener) open(column string, v *string) {
	if x.err != nil || !vault.IsSealedText(*v) {
		return
	}
	if x.s.vault == nil {
		x.err = fmt.Errorf("%s.%s of %s: %w", x.table, column, x.row, errNoVault)
		return
	}
	*v, x.err = x.s.vault.OpenText(x.ctx, x.org, x.table, column, x.row, *v)
}

// openAddress opens what address sealed.
func (x *opener) openAddress(a *party.Address) {
	x.open("address_line1", &a.Line1)
	x.open("address_line2", &a.Line2)
	x.open("address_city", &a.City)
	x.open("address_postal_code", &a.PostalCode)
}

// openJSONText returns the JSON a JSON column holds, opened if sealed.
func (x *opener) openJSONText(column, raw string) string {
	if x.err != nil || !isSealedJSON(raw) {
		return raw
	}
	v := raw[1 : len(raw)-1]
	x.open(column, &v)
	return v
}

// openJSON decodes a JSON column into dst, opening it first if sealed.
func (x *opener) openJSON(column, raw string, dst any) {
	raw = x.openJSONText(column, raw)
	if x.err != nil {
		return
	}
	if err := json.Unmarshal([]byte(raw), dst); err != nil {
		x.err = fmt.Errorf("%s.%s of %s: %w", x.table, column, x.row, err)
	}
}

// isSealedJSON reports a JSON column holding a sealed value: a JSON
// string with the vault's prefix.
func isSealedJSON(raw string) bool {
	return len(raw) > 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && vault.IsSealedText(raw[1:len(raw)-1]) &&
		!strings.ContainsAny(raw[1:len(raw)-1], `"\`)
}
