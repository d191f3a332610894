package auth

import "testing"

func TestAllows(t *testing.T) {
	tests := []struct {
		scopes   []string
		resource string
		write    bool
		want     bool
	}{
		{[]string{"*"}, "invoices", true, true},
		{[]string{"write"}, "invoices", true, true},
		{[]string{"read"}, "invoices", false, true},
		{[]string{"read"}, "invoices", true, false},
		{[]string{"invoices:read"}, "invoices", false, true},
		{[]string{"invoices:read"}, "customers", false, false},
		// The address rules protect the whole server: only * or a scope
		// that names them grants them.
		{[]string{"*"}, "ip-rules", true, true},
		{[]string{"write"}, "ip-rules", true, false},
		{[]string{"write"}, "ip-rules", false, false},
		{[]string{"read"}, "ip-rules", false, false},
		{[]string{"ip-rules:read"}, "ip-rules", false, true},
		{[]string{"ip-rules:read"}, "ip-rules", true, false},
		{[]string{"ip-rules:write"}, "ip-rules", false, true},
	}
	for _, tt := range tests {
		if got := Allows(tt.scopes, tt.resource, tt.write); got != tt.want {
			t.Errorf("Allows(%q, %q, write=%v) = %v, want %v", tt.scopes, tt.resource, tt.write, got, tt.want)
		}
	}
}
