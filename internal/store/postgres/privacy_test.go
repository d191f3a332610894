package postgres_test

import (
	"testing"

	"bursar/internal/store/storetest"
)

func TestPrivacy(t *testing.T) { storetest.Privacy(t, open) }
