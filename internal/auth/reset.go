package auth

import (
	"context"

	"bursar/internal/auth/password"
	"bursar/internal/errs"
	notify "bursar/internal/notify/mail"
)

// RequestPasswordReset mails a single-use link, valid PasswordResetTTL, to
// the user the email names. It says nothing about whether one does: the
// caller answers the same either way, and the mail leaves in the
// background. It returns the user's id ("" for none) for the audit log.
func (s *Identity) RequestPasswordReset(ctx context.Context, email string) (string, error) {
	email = NormalizeEmail(email)
	u, err := s.Store.GetUserByEmail(ctx, email)
	if errs.KindOf(err) == errs.NotFound {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	token, hash, err := newSecret()
	if err != nil {
		return "", err
	}
	now := s.Now().UTC()
	if err := s.Store.InsertPasswordReset(ctx, &PasswordReset{Hash: hash, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(PasswordResetTTL)}); err != nil {
		return "", err
	}
	s.send(ctx, notify.Message{To: u.Email, Subject: "Reset your Bursar password",
		Text: "Someone, hopefully you, asked to reset the password of your Bursar account.\n\n" +
			"Choose a new password here, within 15 minutes; the link works once:\n\n" + s.link("/reset-password", token) + "\n\n" +
			"If you did not ask for this, ignore this mail: your password stays as it is.\n"})
	return u.ID, nil
}

// ConfirmPasswordReset sets a new password with a reset token. When the
// user has a second factor, code must be one of it: a reset never
// bypasses MFA (ASVS 5.0 6.4.3); the token stays usable after a wrong code
// until it expires. Every session of the user ends. It returns the user's
// id.
func (s *Identity) ConfirmPasswordReset(ctx context.Context, token, newPassword, code string) (string, error) {
	hash := HashSecret(token)
	r, err := s.Store.GetPasswordReset(ctx, hash)
	if errs.KindOf(err) == errs.NotFound {
		return "", errBadLinkToken
	}
	if err != nil {
		return "", err
	}
	now := s.Now().UTC()
	if r.UsedAt != nil || !now.Before(r.ExpiresAt) {
		return "", errBadLinkToken
	}
	u, err := s.Store.GetUser(ctx, r.UserID)
	if err != nil {
		return "", err
	}
	if err := s.checkPassword(ctx, u, newPassword); err != nil {
		return "", err
	}
	if s.SecondFactor != nil {
		has, err := s.SecondFactor.HasSecondFactor(ctx, r.UserID)
		if err != nil {
			return "", err
		}
		if has {
			ok := false
			if code != "" {
				if ok, err = s.SecondFactor.VerifySecondFactor(ctx, r.UserID, code); err != nil {
					return "", err
				}
			}
			if !ok {
				var f errs.Fields
				f.Add("code", "this account has a second factor: give a current code or a recovery code")
				e := f.Err().(*errs.Error)
				e.Code = "mfa_required"
				return "", e
			}
		}
	}
	h, err := password.Hash(newPassword)
	if err != nil {
		return "", err
	}
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.UsePasswordReset(ctx, hash, now); err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return errBadLinkToken
			}
			return err
		}
		if err := s.Store.SetUserPassword(ctx, r.UserID, h, now); err != nil {
			return err
		}
		_, err := s.Store.RevokeUserSessions(ctx, r.UserID, "", now)
		return err
	})
	if err != nil {
		return "", err
	}
	return r.UserID, nil
}

// ChangePassword sets a new password for a signed-in user who gives the
// current one. Every other session of the user ends and the current one
// gets a new id, which is returned.
func (s *Identity) ChangePassword(ctx context.Context, sess *Session, current, newPassword string) (*Session, Secret, error) {
	u, err := s.Store.GetUser(ctx, sess.UserID)
	if err != nil {
		return nil, "", err
	}
	if ok, _ := password.Verify(current, u.PasswordHash); !ok || u.PasswordHash == "" {
		var f errs.Fields
		f.Add("current_password", "is not your current password")
		return nil, "", f.Err()
	}
	if err := s.checkPassword(ctx, u, newPassword); err != nil {
		return nil, "", err
	}
	h, err := password.Hash(newPassword)
	if err != nil {
		return nil, "", err
	}
	now := s.Now().UTC()
	var next *Session
	var secret Secret
	err = s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.SetUserPassword(ctx, u.ID, h, now); err != nil {
			return err
		}
		if _, err := s.Store.RevokeUserSessions(ctx, u.ID, sess.ID, now); err != nil {
			return err
		}
		var err error
		next, secret, err = s.Rotate(ctx, sess, sess.State)
		return err
	})
	return next, secret, err
}
