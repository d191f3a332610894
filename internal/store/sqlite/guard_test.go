package sqlite_test

import (
	"testing"

	"bursar/internal/store/storetest"
)

func TestGuardStorage(t *testing.T) { storetest.Guard(t, open(t)) }
