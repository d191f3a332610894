package vault

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/tink-crypto/tink-go/v2/keyset"
)

// Retire deletes from the owner's data keyset every key but the primary
// that no stored value uses any more, and returns the ids it deleted.
// inUse counts the owner's sealed values by the id of the key that sealed
// them (the store's SealedKeyIDs); it is called after the keyset is read,
// and the keyset is written back only if nothing changed it meanwhile
// (else ErrKeysChanged), so a rotation between the count and the write
// retires nothing.
//
// A replica seals with the primary key it cached, for up to its cache
// time after a rotation: keys that changed less than settle ago are left
// alone (ErrKeysRecent). Pass at least the replicas' cache time
// (DefaultCacheTTL), or 0 when no other process uses the keys.
//
// A retired key is gone from the database: whoever stole it (or a copy of
// the wrapped keyset made before) opens no value sealed since, and a value
// still sealed with it would not open any more; hence the count.
func (v *Vault) Retire(ctx context.Context, owner string, settle time.Duration, inUse func(context.Context) (map[uint32]int, error)) ([]uint32, error) {
	w, _, err := v.keys.OrgKeys(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("vault: keys of %s: %w", owner, err)
	}
	if !w.Changed.IsZero() && v.now().Sub(w.Changed) < settle {
		return nil, fmt.Errorf("%w: %s changed at %s", ErrKeysRecent, owner, w.Changed.UTC().Format(time.RFC3339))
	}
	h, ik, err := v.unwrapHandle(owner, w)
	if err != nil {
		return nil, err
	}
	used, err := inUse(ctx)
	if err != nil {
		return nil, err
	}
	info := h.KeysetInfo()
	m := keyset.NewManagerFromHandle(h)
	var retired []uint32
	for _, ki := range info.GetKeyInfo() {
		id := ki.GetKeyId()
		if id == info.GetPrimaryKeyId() || used[id] > 0 {
			continue
		}
		if err := m.Delete(id); err != nil {
			return nil, fmt.Errorf("vault: retire key %d of %s: %w", id, owner, err)
		}
		retired = append(retired, id)
	}
	if len(retired) == 0 {
		return nil, nil
	}
	nh, err := m.Handle()
	if err != nil {
		return nil, fmt.Errorf("vault: retire keys of %s: %w", owner, err)
	}
	nw, err := v.wrap(owner, nh, ik)
	if err != nil {
		return nil, err
	}
	nw.Version, nw.Changed = w.Version+1, v.now()
	err = v.keys.UpdateOrgKeys(ctx, owner, nw)
	v.Forget(owner)
	if err != nil {
		return nil, err
	}
	return retired, nil
}

// KeyIDs returns the ids of the keys in the owner's data keyset, as the
// key store holds it now (not as cached).
func (v *Vault) KeyIDs(ctx context.Context, owner string) ([]uint32, error) {
	v.Forget(owner)
	k, err := v.orgKeys(ctx, owner)
	if err != nil {
		return nil, err
	}
	ids := make([]uint32, 0, len(k.ids))
	for id := range k.ids {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}
