package org

import "context"

// Store is what the org package needs from storage.
type Store interface {
	InsertOrganization(ctx context.Context, o *Organization) error
	GetOrganization(ctx context.Context, id string) (*Organization, error)
	UpdateOrganization(ctx context.Context, o *Organization) error
}
