package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strconv"
	"time"

	"bursar/internal/errs"
)

// throttlePolicy is how sign-in attempts of one subject slow down: the
// first Free attempts within Decay of each other pass at once; after that
// each attempt must wait twice as long as the one before, starting at one
// second and never more than Max. There is no lockout: after Max at most,
// and after Decay without attempts at once, a subject may try again, so
// an attacker cannot lock a victim out for good (ASVS 5.0 6.3.1).
type throttlePolicy struct {
	Free  int
	Max   time.Duration
	Decay time.Duration
}

var (
	// accountPolicy slows guessing at one account from anywhere.
	accountPolicy = throttlePolicy{Free: 5, Max: 15 * time.Minute, Decay: time.Hour}
	// addressPolicy slows one address guessing at many accounts; an
	// office behind one address signs in often, so it starts later.
	addressPolicy = throttlePolicy{Free: 20, Max: 15 * time.Minute, Decay: time.Hour}
)

// notifyEvery is how many failed attempts on an account make a mail to
// its holder.
const notifyEvery = 10

// delay is the wait after the nth counted attempt.
func (p throttlePolicy) delay(n int) time.Duration {
	if n <= p.Free {
		return 0
	}
	d := time.Second
	for i := p.Free + 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

func accountSubject(email string) string {
	h := sha256.Sum256([]byte(email))
	return "account:" + hex.EncodeToString(h[:])
}

// addressSubject counts an IPv6 client by its /64, which one subscriber
// usually holds whole.
func addressSubject(address string) string {
	a, err := netip.ParseAddr(address)
	if err != nil {
		return "address:" + address
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return "address:" + p.String()
	}
	return "address:" + a.String()
}

// ThrottledError is a sign-in refused because its subject must wait.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return "sign-in throttled for " + e.RetryAfter.String()
}

// throttled builds the RateLimited error of a wait.
func throttled(wait time.Duration) error {
	secs := int((wait + time.Second - 1) / time.Second)
	return &errs.Error{Kind: errs.RateLimited, Code: "too_many_attempts",
		Message: "too many sign-in attempts; retry in " + strconv.Itoa(secs) + " seconds",
		Err:     &ThrottledError{RetryAfter: time.Duration(secs) * time.Second}}
}

// spend counts one attempt of the subject, which every attempt is until it
// proves right, or refuses it with a RateLimited error while the subject
// must wait. It returns the count before this attempt. Counting before
// checking the password means that attempts made at once from several
// replicas are all counted: the swap fails for all but one, and they are
// refused.
func (s *Identity) spend(ctx context.Context, subject string, p throttlePolicy, now time.Time) (int, error) {
	prev, err := s.Store.GetThrottle(ctx, subject)
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return 0, err
	}
	n := 0
	if prev != nil {
		if now.Before(prev.NextAllowedAt) {
			return 0, throttled(prev.NextAllowedAt.Sub(now))
		}
		if now.Sub(prev.LastAttemptAt) < p.Decay {
			n = prev.Failures
		}
	}
	next := &Throttle{Subject: subject, Failures: n + 1, LastAttemptAt: now, NextAllowedAt: now.Add(p.delay(n + 1))}
	ok, err := s.Store.SwapThrottle(ctx, prev, next)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, throttled(time.Second)
	}
	return n, nil
}

// giveBack uncounts a right attempt of the address, which spend counted;
// losing a race to another attempt only leaves the count one higher.
func (s *Identity) giveBack(ctx context.Context, subject string, prev int, now time.Time) {
	cur, err := s.Store.GetThrottle(ctx, subject)
	if err != nil || cur.Failures != prev+1 {
		return
	}
	next := &Throttle{Subject: subject, Failures: prev, LastAttemptAt: cur.LastAttemptAt, NextAllowedAt: now.Add(addressPolicy.delay(prev))}
	if _, err := s.Store.SwapThrottle(ctx, cur, next); err != nil {
		s.logger().ErrorContext(ctx, "auth: give back a sign-in attempt", "err", err)
	}
}
