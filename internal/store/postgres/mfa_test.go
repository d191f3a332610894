package postgres_test

import (
	"testing"

	"bursar/internal/store/storetest"
)

func TestMFAStorage(t *testing.T) { storetest.MFA(t, open(t)) }
