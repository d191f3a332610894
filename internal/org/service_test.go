package org

import "testing"

func TestValidSeries(t *testing.T) {
	tests := []struct {
		pattern string
		want    bool
	}{
		{"INV-{YYYY}-{SEQ:5}", true},
		{"{SEQ}", true},
		{"{YY}{MM}-{SEQ:9}", true},
		{"INV-{YYYY}", false},       // no sequence
		{"{SEQ}-{SEQ}", false},      // two sequences
		{"{SEQ:0}", false},          // no width 0
		{"{SEQ:10}", false},         // widths are 1..9
		{"INV-{DATE}-{SEQ}", false}, // unknown placeholder
		{"INV-{SEQ", false},         // unclosed
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidSeries(tt.pattern); got != tt.want {
			t.Errorf("ValidSeries(%q) = %v, want %v", tt.pattern, got, tt.want)
		}
	}
}
