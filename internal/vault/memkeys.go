package vault

import (
	"context"
	"slices"
	"sync"
)

// MemoryKeyStore keeps wrapped keys in memory, for tests and tools that
// need a vault without a database. Keys kept here are gone when the
// process ends, and every value sealed with them is lost.
type MemoryKeyStore struct {
	mu   sync.Mutex
	keys map[string]WrappedKeys
}

// NewMemoryKeyStore returns an empty MemoryKeyStore.
func NewMemoryKeyStore() *MemoryKeyStore { return &MemoryKeyStore{keys: map[string]WrappedKeys{}} }

// OrgKeys implements KeyStore.
func (m *MemoryKeyStore) OrgKeys(_ context.Context, org string) (WrappedKeys, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.keys[org]
	if !ok {
		return WrappedKeys{}, false, ErrNoKeys
	}
	return w, true, nil
}

// CreateOrgKeys implements KeyStore.
func (m *MemoryKeyStore) CreateOrgKeys(_ context.Context, org string, w WrappedKeys) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[org]; ok {
		return ErrKeysChanged
	}
	m.keys[org] = w
	return nil
}

// UpdateOrgKeys implements KeyStore.
func (m *MemoryKeyStore) UpdateOrgKeys(_ context.Context, org string, w WrappedKeys) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.keys[org]
	if !ok || old.Version != w.Version-1 {
		return ErrKeysChanged
	}
	m.keys[org] = w
	return nil
}

// KeyOrgs implements KeyStore.
func (m *MemoryKeyStore) KeyOrgs(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	orgs := make([]string, 0, len(m.keys))
	for o := range m.keys {
		orgs = append(orgs, o)
	}
	slices.Sort(orgs)
	return orgs, nil
}
