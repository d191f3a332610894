package mfa

import (
	"encoding/json"
	"strconv"
	"time"

	"bursar/internal/audit"
)

// The actions of security events, as the audit log records them.
const (
	ActionEnrolled           = "mfa.enrolled"
	ActionRemoved            = "mfa.removed"
	ActionRenamed            = "mfa.renamed"
	ActionRecoveryCodesNew   = "mfa.recovery_codes_generated"
	ActionRecoveryCodeUsed   = "mfa.recovery_code_used"
	ActionVerificationFailed = "mfa.verification_failed"
)

// The reasons a verification failed, in Event.Reason. The user is shown
// none of them, only ErrVerification.
const (
	ReasonWrongCode     = "wrong_code"
	ReasonReplayed      = "replayed"       // a valid code of a step already used
	ReasonNotEnrolled   = "not_enrolled"   // no such factor
	ReasonExpired       = "expired"        // the ceremony expired, or was used
	ReasonInvalid       = "invalid"        // the WebAuthn response did not verify
	ReasonCloneDetected = "clone_detected" // the signature counter went backwards
)

// Event is a security event of a user's second factors: enrolled,
// removed, renamed, recovery codes generated or used, verification failed.
// It holds no secret and, but for the passkey's name, which Entry hashes,
// no personal value.
type Event struct {
	Action string
	UserID string
	Factor Factor
	// PasskeyID names the passkey concerned, if any.
	PasskeyID string
	// Name is a passkey's name, chosen by the user: personal.
	Name string
	// Reason says why a verification failed.
	Reason string
	// Remaining counts the unused recovery codes after a use.
	Remaining int
	Time      time.Time
}

// Entry describes the event as an audit log entry in the tree (the
// organization the user acted in, or audit.SystemTree before one is
// chosen), with the user as actor and object. The passkey's name appears
// only as a keyed hash. The caller adds the address hash and request id,
// as for every entry, and appends it.
func (e Event) Entry(h audit.Hasher, tree string) *audit.Entry {
	var fields []audit.Field
	add := func(name, v string) {
		if v != "" {
			b, _ := json.Marshal(v) // a string always encodes
			fields = append(fields, audit.Field{Name: name, Value: b})
		}
	}
	add("factor", string(e.Factor))
	add("passkey_id", e.PasskeyID)
	if e.Name != "" {
		fields = append(fields, audit.Field{Name: "name", Hash: h.HashPersonal(tree, []byte(e.Name))})
	}
	add("reason", e.Reason)
	if e.Action == ActionRecoveryCodeUsed || e.Action == ActionRecoveryCodesNew {
		fields = append(fields, audit.Field{Name: "remaining", Value: json.RawMessage(strconv.Itoa(e.Remaining))})
	}
	return &audit.Entry{Tree: tree, Time: e.Time, Actor: audit.Actor{Type: audit.ActorUser, ID: e.UserID},
		Action: e.Action, ObjectType: "user", ObjectID: e.UserID, Fields: fields}
}
