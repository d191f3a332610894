// Package auth holds who may do what: users, their membership and role in
// organizations, and API keys with scopes.
package auth

import (
	"context"
	"time"

	"bursar/internal/page"
)

// Role is a user's role in an organization.
type Role string

// The roles, from most to least powerful.
const (
	RoleOwner      Role = "owner"
	RoleAdmin      Role = "admin"
	RoleAccountant Role = "accountant"
	RoleViewer     Role = "viewer"
)

// User is a person who signs in.
type User struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// PasswordHash is the argon2id PHC string of the password, or "" for a
	// user who has none (single sign-on only).
	PasswordHash    string     `json:"-"`
	EmailVerifiedAt *time.Time `json:"-"`
	// DisabledAt is when an operator disabled the account: it signs in
	// by no pathway and its sessions are refused. Nil: enabled.
	DisabledAt *time.Time `json:"-"`
}

// Membership gives a user a role in an organization.
type Membership struct {
	OrgID     string    `json:"org_id"`
	UserID    string    `json:"user_id"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

// APIKey lets a program call the API on behalf of an organization. Only a
// hash of the secret is stored; the secret is shown once, at creation.
type APIKey struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"-"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"` // the first characters of the secret, to recognise it
	Hash       []byte     `json:"-"`      // SHA-256 of the secret
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// Store is what the auth package needs from storage.
type Store interface {
	InsertUser(ctx context.Context, u *User) error
	InsertMembership(ctx context.Context, m *Membership) error

	InsertAPIKey(ctx context.Context, k *APIKey) error
	// GetAPIKeyByHash finds a key by the hash of its secret, in any
	// organization: the secret is what names the organization.
	GetAPIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	GetAPIKey(ctx context.Context, orgID, id string) (*APIKey, error)
	ListAPIKeys(ctx context.Context, orgID string, p page.Params) ([]*APIKey, error)
	// RevokeAPIKey marks the key revoked at the given time; revoking a
	// revoked key keeps the first time.
	RevokeAPIKey(ctx context.Context, orgID, id string, at time.Time) error
	// TouchAPIKey records that the key was used at the given time.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}
