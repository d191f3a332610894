package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"bursar/internal/auth/password"
	"bursar/internal/errs"
	"bursar/internal/ident"
	"bursar/internal/notify/mail"
)

// SecondFactor is what the identity service asks of multi-factor
// authentication (internal/auth/mfa provides it). With none configured no
// user has a second factor.
type SecondFactor interface {
	// HasSecondFactor reports whether the user has enrolled a second
	// factor, which sign-in and password reset must then ask for.
	HasSecondFactor(ctx context.Context, userID string) (bool, error)
	// VerifySecondFactor checks a code (TOTP or recovery code) of the
	// user; a code is accepted once.
	VerifySecondFactor(ctx context.Context, userID, code string) (bool, error)
}

// Default lifetimes of the identity service.
const (
	DefaultSessionIdle     = 30 * time.Minute
	DefaultSessionAbsolute = 12 * time.Hour
	InvitationTTL          = 7 * 24 * time.Hour
	PasswordResetTTL       = 15 * time.Minute
	// touchEvery bounds the writes a busy session makes: its last use is
	// recorded at most once a minute, so the idle timeout is exact to a
	// minute.
	touchEvery = time.Minute
)

// Identity runs users, invitations, sign-in, sessions and password resets
// against an IdentityStore.
type Identity struct {
	Store IdentityStore
	// Mail sends invitations, reset links and failed sign-in notices.
	Mail mail.Sender
	// SecondFactor, if set, says which users have MFA.
	SecondFactor SecondFactor
	// Orgs gives organizations' names, which a member's new password must
	// not be built on (password.Words).
	Orgs   OrgReader
	Now    func() time.Time
	Logger *slog.Logger
	// BaseURL is the public address of the server ("https://bill.example"),
	// the start of the links in mails.
	BaseURL string
	// SessionIdle and SessionAbsolute are the idle timeout and the
	// absolute lifetime of a session; 0 means the defaults.
	SessionIdle, SessionAbsolute time.Duration

	dummyOnce sync.Once
	dummyHash string
	mails     sync.WaitGroup
}

// Secret is a credential shown once: the value of a cookie or the token
// in a link.
type Secret string

// newSecret returns 256 random bits, URL-safe, and their stored hash.
func newSecret() (Secret, []byte, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	s := Secret(base64.RawURLEncoding.EncodeToString(raw[:]))
	return s, HashSecret(string(s)), nil
}

// NormalizeEmail is the form in which emails are stored and compared.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func (s *Identity) idle() time.Duration {
	if s.SessionIdle > 0 {
		return s.SessionIdle
	}
	return DefaultSessionIdle
}

func (s *Identity) absolute() time.Duration {
	if s.SessionAbsolute > 0 {
		return s.SessionAbsolute
	}
	return DefaultSessionAbsolute
}

func (s *Identity) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// send mails m in the background: how long a mail server takes must not
// tell a caller whether an account exists. Flush waits for it.
func (s *Identity) send(ctx context.Context, m mail.Message) {
	if s.Mail == nil {
		s.logger().WarnContext(ctx, "auth: no mail sender; message dropped", "subject", m.Subject)
		return
	}
	ctx = context.WithoutCancel(ctx)
	s.mails.Add(1)
	go func() {
		defer s.mails.Done()
		if err := s.Mail.Send(ctx, m); err != nil {
			s.logger().ErrorContext(ctx, "auth: send mail", "subject", m.Subject, "err", err)
		}
	}()
}

// Flush waits until every mail begun so far has been handed over.
func (s *Identity) Flush() { s.mails.Wait() }

// link is an absolute link into the portal.
func (s *Identity) link(path string, token Secret) string {
	return strings.TrimRight(s.BaseURL, "/") + path + "?token=" + string(token)
}

// dummy is a hash of a random password, verified when the user named at
// sign-in does not exist, so that an unknown account costs the same time
// as a wrong password.
func (s *Identity) dummy() string {
	s.dummyOnce.Do(func() {
		pw, _, err := newSecret()
		if err == nil {
			s.dummyHash, err = password.Hash(string(pw))
		}
		if err != nil {
			// Verify of a malformed hash returns at once; keep the
			// timing guarantee visible in the log.
			s.logger().Error("auth: dummy password hash", "err", err)
		}
	})
	return s.dummyHash
}

// errSignInFailed is the one answer to a failed sign-in, whatever failed.
var errSignInFailed = errs.E(errs.Unauthorized, "invalid_credentials", "the email or password is wrong")

// LoginResult is a successful sign-in.
type LoginResult struct {
	User    *User
	Session *Session
	// Secret is the cookie value; it is not stored.
	Secret Secret
	// MFARequired says the session waits for the second factor.
	MFARequired bool
}

// LoginAttempt describes a sign-in attempt, for the audit log.
type LoginAttempt struct {
	// UserID is the user the email names, "" when none does.
	UserID string
	// Failures counts the account's recent failed attempts.
	Failures int
}

// Login checks an email and password, throttled per account and per source
// address, and on success starts a session with a new id (ASVS 5.0 7.2.4).
// Every failure, whether the account exists or not, is the same
// Unauthorized error after the same argon2id work; a throttled attempt is
// RateLimited with the wait in RetryAfter.
func (s *Identity) Login(ctx context.Context, email, pw, address, userAgent string) (*LoginResult, LoginAttempt, error) {
	var at LoginAttempt
	email = NormalizeEmail(email)
	now := s.Now().UTC()
	acct, addr := accountSubject(email), addressSubject(address)
	prevAcct, err := s.spend(ctx, acct, accountPolicy, now)
	if err != nil {
		return nil, at, err
	}
	prevAddr, err := s.spend(ctx, addr, addressPolicy, now)
	if err != nil {
		return nil, at, err
	}
	at.Failures = prevAcct + 1
	u, err := s.Store.GetUserByEmail(ctx, email)
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return nil, at, err
	}
	hash := s.dummy()
	if u != nil && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	ok, verr := password.Verify(pw, hash)
	// A disabled account fails like a wrong password, after the same work.
	if u == nil || u.PasswordHash == "" || !ok || verr != nil || u.DisabledAt != nil {
		if u != nil {
			at.UserID = u.ID
			if at.Failures%notifyEvery == 0 {
				s.send(ctx, failedSignInMail(u, at.Failures))
			}
		}
		return nil, at, errSignInFailed
	}
	at.UserID = u.ID
	// The password is right: the account's count starts over, and this
	// attempt is given back to the address.
	if err := s.Store.DeleteThrottle(ctx, acct); err != nil {
		return nil, at, err
	}
	s.giveBack(ctx, addr, prevAddr, now)
	if password.NeedsRehash(u.PasswordHash) {
		if h, err := password.Hash(pw); err == nil {
			if err := s.Store.SetUserPassword(ctx, u.ID, h, now); err != nil {
				return nil, at, err
			}
			u.PasswordHash = h
		}
	}
	state := SessionActive
	if s.SecondFactor != nil {
		has, err := s.SecondFactor.HasSecondFactor(ctx, u.ID)
		if err != nil {
			return nil, at, err
		}
		if has {
			state = SessionMFAPending
		}
	}
	sess, secret, err := s.startSession(ctx, u.ID, state, userAgent, now, now.Add(s.absolute()))
	if err != nil {
		return nil, at, err
	}
	return &LoginResult{User: u, Session: sess, Secret: secret, MFARequired: state == SessionMFAPending}, at, nil
}

func failedSignInMail(u *User, n int) mail.Message {
	return mail.Message{To: u.Email, Subject: "Failed sign-in attempts on your Bursar account",
		Text: "There have been " + strconv.Itoa(n) + " failed attempts to sign in to your Bursar account (" + u.Email + ").\n\n" +
			"If that was not you, someone may be guessing your password. Signing in stays possible for you;\n" +
			"attempts are slowed down. Consider choosing a longer password and enabling a second factor.\n"}
}

// startSession stores a new session and returns it with its cookie value.
func (s *Identity) startSession(ctx context.Context, userID string, state SessionState, userAgent string, now, expires time.Time) (*Session, Secret, error) {
	secret, hash, err := newSecret()
	if err != nil {
		return nil, "", err
	}
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	sess := &Session{ID: ident.New("ses", now), Hash: hash, UserID: userID, State: state, UserAgent: userAgent,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: expires}
	if err := s.Store.InsertSession(ctx, sess); err != nil {
		return nil, "", err
	}
	return sess, secret, nil
}

var errNoSession = errs.E(errs.Unauthorized, "unauthenticated", "sign in again: the session is missing, expired or ended")

// Resume returns the live session whose cookie value is given and its
// user, recording its use. A session past its idle timeout or absolute
// lifetime, or revoked, is Unauthorized.
func (s *Identity) Resume(ctx context.Context, secret string) (*Session, *User, error) {
	if len(secret) != 43 {
		return nil, nil, errNoSession
	}
	sess, err := s.Store.GetSessionByHash(ctx, HashSecret(secret))
	if errs.KindOf(err) == errs.NotFound {
		return nil, nil, errNoSession
	}
	if err != nil {
		return nil, nil, err
	}
	now := s.Now().UTC()
	if sess.RevokedAt != nil || !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.idle() {
		return nil, nil, errNoSession
	}
	u, err := s.Store.GetUser(ctx, sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u.DisabledAt != nil {
		// Disabling ends the sessions too; this holds the line even
		// for one started in a race with it (ASVS 5.0 7.4.2).
		return nil, nil, errNoSession
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.Store.TouchSession(ctx, sess.ID, now); err != nil {
			return nil, nil, err
		}
		sess.LastSeenAt = now
	}
	return sess, u, nil
}

// CompleteSecondFactor turns a session waiting for the second factor into
// an active one under a new id (the old one is revoked), once the caller
// has checked the factor. It is the hook of internal/auth/mfa.
func (s *Identity) CompleteSecondFactor(ctx context.Context, sess *Session) (*Session, Secret, error) {
	return s.Rotate(ctx, sess, SessionActive)
}

// Rotate replaces a session by a new one with a new id and the state, as
// at every change of privilege (ASVS 5.0 7.2.4); the absolute lifetime
// keeps running from the first sign-in.
func (s *Identity) Rotate(ctx context.Context, sess *Session, state SessionState) (*Session, Secret, error) {
	var next *Session
	var secret Secret
	now := s.Now().UTC()
	err := s.Store.InTx(ctx, func(ctx context.Context) error {
		if err := s.Store.RevokeSession(ctx, sess.UserID, sess.ID, now); err != nil {
			return err
		}
		var err error
		next, secret, err = s.startSession(ctx, sess.UserID, state, sess.UserAgent, now, sess.ExpiresAt)
		return err
	})
	return next, secret, err
}

// Logout ends one session.
func (s *Identity) Logout(ctx context.Context, sess *Session) error {
	return s.Store.RevokeSession(ctx, sess.UserID, sess.ID, s.Now().UTC())
}

// RevokeSession ends one of the user's sessions, by its public id.
func (s *Identity) RevokeSession(ctx context.Context, userID, id string) error {
	return s.Store.RevokeSession(ctx, userID, id, s.Now().UTC())
}

// RevokeAll ends every session of the user ("sign out everywhere").
func (s *Identity) RevokeAll(ctx context.Context, userID string) (int64, error) {
	return s.Store.RevokeUserSessions(ctx, userID, "", s.Now().UTC())
}

// Sessions lists the user's live sessions, newest first.
func (s *Identity) Sessions(ctx context.Context, userID string) ([]*Session, error) {
	all, err := s.Store.ListUserSessions(ctx, userID, s.Now().UTC())
	if err != nil {
		return nil, err
	}
	out := all[:0]
	now := s.Now().UTC()
	for _, x := range all {
		if now.Sub(x.LastSeenAt) < s.idle() {
			out = append(out, x)
		}
	}
	return out, nil
}

// CSRFToken is the synchronizer token of a session: the SHA-256 of a fixed
// label and the session's cookie value, which a page of another site can
// neither read nor compute, and from which the cookie cannot be recovered.
// It needs no storage and changes with the session id.
func CSRFToken(sessionSecret string) string {
	h := sha256.Sum256([]byte("bursar-csrf\x00" + sessionSecret))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
