package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"bursar/internal/auth/mfa"
	"bursar/internal/errs"
)

var _ mfa.Store = (*Store)(nil)

// PutPendingTOTP stores a new unconfirmed TOTP secret, replacing an
// unconfirmed one, in one statement: a confirmed secret is never replaced.
func (s *Store) PutPendingTOTP(ctx context.Context, t *mfa.TOTP) error {
	n, err := s.exec(ctx, `INSERT INTO mfa_totp (user_id, secret, confirmed_at, last_step, created_at) VALUES (?, ?, NULL, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = excluded.last_step, created_at = excluded.created_at
		WHERE mfa_totp.confirmed_at IS NULL`,
		t.UserID, t.Secret, t.LastStep, stamp(&t.CreatedAt))
	if err != nil {
		return s.fail(err, "insert", "TOTP secret of user", t.UserID)
	}
	if n == 0 {
		return errs.E(errs.Conflict, "totp_enabled", "TOTP is already enabled")
	}
	t.ConfirmedAt = nil
	return nil
}

// GetTOTP reads the user's TOTP secret.
func (s *Store) GetTOTP(ctx context.Context, userID string) (*mfa.TOTP, error) {
	var t mfa.TOTP
	err := s.queryRow(ctx, "SELECT user_id, secret, confirmed_at, last_step, created_at FROM mfa_totp WHERE user_id = ?", userID).
		Scan(&t.UserID, &t.Secret, nullTimeDest{&t.ConfirmedAt}, &t.LastStep, timeDest{&t.CreatedAt})
	if err := s.getOne(err, "TOTP secret of user", userID); err != nil {
		return nil, err
	}
	return &t, nil
}

// ConfirmTOTP activates the user's pending secret.
func (s *Store) ConfirmTOTP(ctx context.Context, userID string, step int64, at time.Time) (bool, error) {
	n, err := s.exec(ctx, "UPDATE mfa_totp SET confirmed_at = ?, last_step = ? WHERE user_id = ? AND confirmed_at IS NULL",
		stamp(&at), step, userID)
	if err != nil {
		return false, s.fail(err, "confirm", "TOTP secret of user", userID)
	}
	return n == 1, nil
}

// AcceptTOTPStep advances the last accepted step. The condition on the
// row makes it atomic: of two writers with the same step, on PostgreSQL
// the second re-reads the row the first committed and finds the step no
// longer greater; on SQLite writers take turns.
func (s *Store) AcceptTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	n, err := s.exec(ctx, "UPDATE mfa_totp SET last_step = ? WHERE user_id = ? AND confirmed_at IS NOT NULL AND last_step < ?",
		step, userID, step)
	if err != nil {
		return false, s.fail(err, "accept step of", "TOTP secret of user", userID)
	}
	return n == 1, nil
}

// DeleteTOTP removes the user's TOTP secret.
func (s *Store) DeleteTOTP(ctx context.Context, userID string) error {
	n, err := s.exec(ctx, "DELETE FROM mfa_totp WHERE user_id = ?", userID)
	if err != nil {
		return s.fail(err, "delete", "TOTP secret of user", userID)
	}
	return touched(n, "TOTP secret of user", userID)
}

// ReplaceRecoveryCodes replaces the user's recovery codes, in one
// transaction.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time) error {
	created := stamp(&at)
	return s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.exec(ctx, "DELETE FROM mfa_recovery_codes WHERE user_id = ?", userID); err != nil {
			return s.fail(err, "replace", "recovery codes of user", userID)
		}
		for _, h := range hashes {
			if _, err := s.exec(ctx, "INSERT INTO mfa_recovery_codes (user_id, hash, created_at, used_at) VALUES (?, ?, ?, NULL)",
				userID, h, created); err != nil {
				return s.fail(err, "replace", "recovery codes of user", userID)
			}
		}
		return nil
	})
}

// UseRecoveryCode marks an unused code used, in one conditional statement.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time) (bool, error) {
	n, err := s.exec(ctx, "UPDATE mfa_recovery_codes SET used_at = ? WHERE user_id = ? AND hash = ? AND used_at IS NULL",
		stamp(&at), userID, hash)
	if err != nil {
		return false, s.fail(err, "use", "recovery code of user", userID)
	}
	return n == 1, nil
}

// CountRecoveryCodes counts the user's unused recovery codes.
func (s *Store) CountRecoveryCodes(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.queryRow(ctx, "SELECT COUNT(*) FROM mfa_recovery_codes WHERE user_id = ? AND used_at IS NULL", userID).Scan(&n)
	if err != nil {
		return 0, s.fail(err, "count", "recovery codes of user", userID)
	}
	return n, nil
}

// DeleteRecoveryCodes removes all of the user's recovery codes.
func (s *Store) DeleteRecoveryCodes(ctx context.Context, userID string) error {
	if _, err := s.exec(ctx, "DELETE FROM mfa_recovery_codes WHERE user_id = ?", userID); err != nil {
		return s.fail(err, "delete", "recovery codes of user", userID)
	}
	return nil
}

// #nosec G101 -- a list of column names, not a credential.
const passkeyCols = "id, user_id, credential_id, name, credential, sign_count, clone_warning, created_at, last_used_at"

var insertPasskeySQL = insertSQL("mfa_passkeys", passkeyCols)

func scanPasskey(sc scanner) (*mfa.Passkey, error) {
	var (
		p      mfa.Passkey
		credID []byte
		count  int64
	)
	if err := sc.Scan(&p.ID, &p.UserID, &credID, &p.Name, jsonDest{&p.Credential}, &count, &p.CloneWarning,
		timeDest{&p.CreatedAt}, nullTimeDest{&p.LastUsedAt}); err != nil {
		return nil, err
	}
	if count < 0 || count > math.MaxUint32 {
		return nil, fmt.Errorf("passkey %s: sign count %d out of range", p.ID, count)
	}
	// The columns are the truth: the JSON keeps what the passkey was
	// registered with.
	p.SignCount = uint32(count)
	p.Credential.ID = credID
	p.Credential.Authenticator.SignCount, p.Credential.Authenticator.CloneWarning = p.SignCount, p.CloneWarning
	return &p, nil
}

// InsertPasskey stores a new passkey.
func (s *Store) InsertPasskey(ctx context.Context, p *mfa.Passkey) error {
	cred, err := jsonText(p.Credential)
	if err != nil {
		return s.fail(err, "insert", "passkey", p.ID)
	}
	if _, err := s.exec(ctx, insertPasskeySQL, p.ID, p.UserID, p.Credential.ID, p.Name, cred, int64(p.SignCount), p.CloneWarning,
		stamp(&p.CreatedAt), stampPtr(&p.LastUsedAt)); err != nil {
		return s.fail(err, "insert", "passkey", p.ID)
	}
	return nil
}

// ListPasskeys lists the user's passkeys, oldest first.
func (s *Store) ListPasskeys(ctx context.Context, userID string) ([]*mfa.Passkey, error) {
	return list(ctx, s, "passkeys", "SELECT "+passkeyCols+" FROM mfa_passkeys WHERE user_id = ? ORDER BY created_at, id", []any{userID}, scanPasskey)
}

// GetPasskeyByCredentialID finds a passkey of any user by its credential
// id: in a discoverable sign-in the credential is what names the user.
func (s *Store) GetPasskeyByCredentialID(ctx context.Context, credentialID []byte) (*mfa.Passkey, error) {
	p, err := scanPasskey(s.queryRow(ctx, "SELECT "+passkeyCols+" FROM mfa_passkeys WHERE credential_id = ?", credentialID))
	if err := s.getOne(err, "passkey", "(by credential id)"); err != nil {
		return nil, err
	}
	return p, nil
}

// RenamePasskey renames one of the user's passkeys.
func (s *Store) RenamePasskey(ctx context.Context, userID, id, name string) error {
	n, err := s.exec(ctx, "UPDATE mfa_passkeys SET name = ? WHERE user_id = ? AND id = ?", name, userID, id)
	if err != nil {
		return s.fail(err, "rename", "passkey", id)
	}
	return touched(n, "passkey", id)
}

// DeletePasskey removes one of the user's passkeys and returns it.
func (s *Store) DeletePasskey(ctx context.Context, userID, id string) (*mfa.Passkey, error) {
	var p *mfa.Passkey
	err := s.write(ctx, func(on querier) error {
		rows, err := s.queryOn(ctx, on, "DELETE FROM mfa_passkeys WHERE user_id = ? AND id = ? RETURNING "+passkeyCols, []any{userID, id})
		p, err = scanPasskey(row{rows, err})
		return err
	})
	if err := s.getOne(err, "passkey", id); err != nil {
		return nil, err
	}
	return p, nil
}

// AdvancePasskeyCounter records a use of the passkey if its counter grew
// (or is zero on an authenticator without one) and it is not flagged.
func (s *Store) AdvancePasskeyCounter(ctx context.Context, userID, id string, count uint32, at time.Time) (bool, error) {
	c := int64(count)
	n, err := s.exec(ctx, `UPDATE mfa_passkeys SET sign_count = ?, last_used_at = ?
		WHERE user_id = ? AND id = ? AND NOT clone_warning AND (sign_count < ? OR (sign_count = 0 AND ? = 0))`,
		c, stamp(&at), userID, id, c, c)
	if err != nil {
		return false, s.fail(err, "use", "passkey", id)
	}
	return n == 1, nil
}

// FlagPasskeyClone marks the passkey as possibly cloned.
func (s *Store) FlagPasskeyClone(ctx context.Context, userID, id string) error {
	n, err := s.exec(ctx, "UPDATE mfa_passkeys SET clone_warning = ? WHERE user_id = ? AND id = ?", true, userID, id)
	if err != nil {
		return s.fail(err, "flag", "passkey", id)
	}
	return touched(n, "passkey", id)
}

// InsertCeremony stores a WebAuthn ceremony in progress.
func (s *Store) InsertCeremony(ctx context.Context, c *mfa.Ceremony) error {
	session, err := jsonText(c.Session)
	if err != nil {
		return s.fail(err, "insert", "WebAuthn ceremony", c.ID)
	}
	var userID any
	if c.UserID != "" {
		userID = c.UserID
	}
	if _, err := s.exec(ctx, "INSERT INTO mfa_ceremonies (id, user_id, kind, session, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
		c.ID, userID, string(c.Kind), session, stamp(&c.CreatedAt), stamp(&c.ExpiresAt)); err != nil {
		return s.fail(err, "insert", "WebAuthn ceremony", c.ID)
	}
	return nil
}

// TakeCeremony deletes the ceremony and returns it: of two requests that
// finish one ceremony, one gets it.
func (s *Store) TakeCeremony(ctx context.Context, id string, kind mfa.CeremonyKind) (*mfa.Ceremony, error) {
	c := mfa.Ceremony{ID: id, Kind: kind}
	var userID sql.NullString
	err := s.execScan(ctx, "DELETE FROM mfa_ceremonies WHERE id = ? AND kind = ? RETURNING user_id, session, created_at, expires_at",
		[]any{id, string(kind)}, &userID, jsonDest{&c.Session}, timeDest{&c.CreatedAt}, timeDest{&c.ExpiresAt})
	if err := s.getOne(err, "WebAuthn ceremony", id); err != nil {
		return nil, err
	}
	c.UserID = userID.String
	return &c, nil
}

// DeleteExpiredCeremonies deletes the ceremonies that expired before now.
func (s *Store) DeleteExpiredCeremonies(ctx context.Context, now time.Time) (int64, error) {
	n, err := s.exec(ctx, "DELETE FROM mfa_ceremonies WHERE expires_at < ?", stamp(&now))
	if err != nil {
		return 0, s.fail(err, "delete expired", "WebAuthn ceremonies", "")
	}
	return n, nil
}

// OrgMFARequired reports whether the organization requires a second
// factor of every member.
func (s *Store) OrgMFARequired(ctx context.Context, orgID string) (bool, error) {
	var required bool
	err := s.queryRow(ctx, "SELECT mfa_required FROM organizations WHERE id = ?", orgID).Scan(&required)
	if err := s.getOne(err, "organization", orgID); err != nil {
		return false, err
	}
	return required, nil
}

// SetOrgMFARequired changes whether the organization requires a second
// factor of every member.
func (s *Store) SetOrgMFARequired(ctx context.Context, orgID string, required bool, at time.Time) error {
	n, err := s.exec(ctx, "UPDATE organizations SET mfa_required = ?, updated_at = ? WHERE id = ?", required, stamp(&at), orgID)
	if err != nil {
		return s.fail(err, "update", "organization", orgID)
	}
	return touched(n, "organization", orgID)
}
