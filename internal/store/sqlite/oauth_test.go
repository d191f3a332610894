package sqlite_test

import (
	"testing"

	"bursar/internal/store/storetest"
)

func TestOAuthStorage(t *testing.T) { storetest.OAuth(t, open(t)) }
