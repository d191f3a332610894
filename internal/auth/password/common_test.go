package password

import (
	"bytes"
	"compress/gzip"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestCommonListEmbedded checks the data compiled into every build: it
// loads, is large enough (the issue asks for 100,000 entries at least), and
// every entry has the form the lookup assumes.
func TestCommonListEmbedded(t *testing.T) {
	l, err := loadCommon()
	if err != nil {
		t.Fatal(err)
	}
	if got, min := l.len(), 100_000; got < min {
		t.Fatalf("list has %d entries, want at least %d", got, min)
	}
	for i := range l.len() {
		w := l.entry(i)
		if utf8.RuneCountInString(w) < floorMinLength || w != strings.ToLower(Normalize(w)) {
			t.Fatalf("entry %d %q: shorter than %d, or not lower-case NFC", i, w, floorMinLength)
		}
	}
	// The first, last and a middle entry are found: no off-by-one at the
	// ends of the binary search.
	for _, i := range []int{0, l.len() / 2, l.len() - 1} {
		if w := l.entry(i); !l.contains(w) {
			t.Errorf("contains(%q) = false for entry %d", w, i)
		}
	}
	for _, w := range []string{"", "a", "\xff", uncommon, "zzzzzzzzzzzzzzzzzzzzzzzzz"} {
		if l.contains(w) {
			t.Errorf("contains(%q) = true", w)
		}
	}
}

func gz(t testing.TB, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParseCommonRefusesDamage(t *testing.T) {
	for name, data := range map[string][]byte{
		"unsorted":   gz(t, "password2\npassword1\n"),
		"duplicate":  gz(t, "password1\npassword1\n"),
		"no newline": gz(t, "password1\npassword2"),
		"not gzip":   []byte("password1\n"),
	} {
		if _, err := parseCommon(data); err == nil {
			t.Errorf("%s: parseCommon succeeded", name)
		}
	}
	l, err := parseCommon(gz(t, "aaaaaaaa\nbbbbbbbb\ncccccccc\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !l.contains("bbbbbbbb") || l.contains("bbbbbbb") || l.contains("bbbbbbbbb") {
		t.Fatal("contains is wrong on a three-entry list")
	}
}

// BenchmarkLoadCommon measures the one-time cost of the first IsCommon in
// a process: decompressing and indexing the list. It reports the bytes the
// list keeps alive (retained-B) besides Go's per-load allocation figures.
func BenchmarkLoadCommon(b *testing.B) {
	b.ReportAllocs()
	var l *commonList
	for b.Loop() {
		var err error
		if l, err = parseCommon(commonGzip); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(l.text)+4*cap(l.start)), "retained-B")
	b.ReportMetric(float64(len(commonGzip)), "embedded-B")
	b.ReportMetric(float64(l.len()), "entries")
	runtime.KeepAlive(l)
}

// BenchmarkIsCommon measures one lookup once the list is loaded.
func BenchmarkIsCommon(b *testing.B) {
	if _, err := loadCommon(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := IsCommon("Correct Horse Battery Staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashDefault measures one Hash (and so one Verify) under Default:
// the time a login spends in argon2id on this machine.
func BenchmarkHashDefault(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Hash(uncommon); err != nil {
			b.Fatal(err)
		}
	}
}
