package sqlite_test

import (
	"testing"

	"bursar/internal/store/storetest"
)

func TestSSOStorage(t *testing.T) { storetest.SSO(t, open(t)) }
