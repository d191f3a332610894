package deploy

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// imagePinned reports whether an image reference names a fixed version: a
// digest, or a tag other than latest. A reference without a tag means latest.
func imagePinned(ref string) (bool, string) {
	if ref == "" {
		return false, "empty image reference"
	}
	if i := strings.Index(ref, "@"); i >= 0 {
		if regexp.MustCompile(`^sha256:[a-f0-9]{64}$`).MatchString(ref[i+1:]) {
			return true, ""
		}
		return false, "malformed digest"
	}
	// A colon before the last slash is a registry port, not a tag.
	name := ref[strings.LastIndex(ref, "/")+1:]
	i := strings.LastIndex(name, ":")
	if i < 0 {
		return false, "no tag (means latest)"
	}
	tag := name[i+1:]
	if tag == "" {
		return false, "empty tag"
	}
	if strings.EqualFold(tag, "latest") {
		return false, "tag latest"
	}
	return true, ""
}

func TestImagePinned(t *testing.T) {
	tests := []struct {
		ref  string
		want bool
	}{
		{"bursar", false},
		{"bursar:latest", false},
		{"bursar:LATEST", false},
		{"registry.example.com:5000/bursar", false},
		{"registry.example.com:5000/bursar:", false},
		{"registry.example.com:5000/bursar:0.1.0", true},
		{"golang:1.26.8-bookworm", true},
		{"gcr.io/distroless/static-debian12:nonroot", true},
		{"bursar@sha256:" + strings.Repeat("ab", 32), true},
		{"bursar@sha256:abc", false},
		{"", false},
	}
	for _, tt := range tests {
		if got, why := imagePinned(tt.ref); got != tt.want {
			t.Errorf("imagePinned(%q) = %v (%s), want %v", tt.ref, got, why, tt.want)
		}
	}
}

// instruction is one Dockerfile instruction with its continuation lines
// joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, USER, ...
	args string
	line int
}

// stage is one FROM ... section of a Dockerfile.
type stage struct {
	image, name  string
	instructions []instruction
}

func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instructions {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// parseDockerfile splits a Dockerfile into stages. It knows the syntax the
// checks need: comments, line continuations and FROM image [AS name].
func parseDockerfile(text string) ([]stage, error) {
	var stages []stage
	var cur strings.Builder
	start := 0
	flush := func() error {
		s := strings.TrimSpace(cur.String())
		cur.Reset()
		if s == "" {
			return nil
		}
		cmd, args, _ := strings.Cut(s, " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args), line: start}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			var st stage
			for _, w := range f {
				if strings.HasPrefix(w, "--") {
					continue // --platform=...
				}
				if st.image == "" {
					st.image = w
				}
			}
			if len(f) >= 3 && strings.EqualFold(f[len(f)-2], "AS") {
				st.name = f[len(f)-1]
			}
			stages = append(stages, st)
			return nil
		}
		if len(stages) == 0 {
			if in.cmd == "ARG" {
				return nil
			}
			return &parseError{line: in.line, msg: in.cmd + " before the first FROM"}
		}
		last := &stages[len(stages)-1]
		last.instructions = append(last.instructions, in)
		return nil
	}
	for i, raw := range strings.Split(text, "\n") {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") {
			continue // comments may sit inside a continued instruction
		}
		if cur.Len() == 0 {
			if line == "" {
				continue
			}
			start = i + 1
		}
		if strings.HasSuffix(line, `\`) {
			cur.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		cur.WriteString(line)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return stages, nil
}

type parseError struct {
	line int
	msg  string
}

func (e *parseError) Error() string { return "line " + strconv.Itoa(e.line) + ": " + e.msg }

// nonRootUser reports whether a USER argument names a numeric, non-zero user
// (and group, if given). A name is refused: Kubernetes' runAsNonRoot can only
// verify a number.
func nonRootUser(arg string) bool {
	user, group, hasGroup := strings.Cut(arg, ":")
	num := regexp.MustCompile(`^[0-9]+$`)
	if !num.MatchString(user) || strings.TrimLeft(user, "0") == "" {
		return false
	}
	if hasGroup && (!num.MatchString(group) || strings.TrimLeft(group, "0") == "") {
		return false
	}
	return true
}

func TestNonRootUser(t *testing.T) {
	for arg, want := range map[string]bool{
		"65532": true, "65532:65532": true, "0": false, "root": false,
		"nonroot": false, "65532:0": false, "000": false, "": false,
	} {
		if got := nonRootUser(arg); got != want {
			t.Errorf("nonRootUser(%q) = %v, want %v", arg, got, want)
		}
	}
}

func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stages, err := parseDockerfile(string(b))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s), want a multi-stage build", len(stages))
	}
	names := map[string]bool{}
	for i, s := range stages {
		if !names[s.image] {
			if ok, why := imagePinned(s.image); !ok {
				t.Errorf("stage %d: FROM %s: %s", i+1, s.image, why)
			}
		}
		if s.name != "" {
			names[s.name] = true
		}
	}

	build := stages[0]
	var buildRun strings.Builder
	for _, in := range build.find("RUN") {
		buildRun.WriteString(in.args + "\n")
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/bursar"} {
		if !strings.Contains(buildRun.String(), want) {
			t.Errorf("build stage: no RUN with %q (want a static, path-free build)", want)
		}
	}

	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.image, "gcr.io/distroless/") && final.image != "scratch" {
		t.Errorf("final stage FROM %s, want distroless or scratch", final.image)
	}
	users := final.find("USER")
	if len(users) == 0 {
		t.Errorf("final stage has no USER: the container would run as root")
	} else if u := users[len(users)-1].args; !nonRootUser(u) {
		t.Errorf("final stage USER %q, want a numeric non-root user (65532)", u)
	}
	hc := final.find("HEALTHCHECK")
	if len(hc) == 0 {
		t.Errorf("final stage has no HEALTHCHECK")
	} else if a := hc[len(hc)-1].args; strings.HasPrefix(strings.ToUpper(a), "NONE") || !strings.Contains(a, "healthcheck") {
		t.Errorf("HEALTHCHECK %q, want it to run `bursar healthcheck`", a)
	}
	if ex := final.find("EXPOSE"); len(ex) != 1 || ex[0].args != "8080" {
		t.Errorf("EXPOSE = %v, want exactly 8080", ex)
	}
	if v := final.find("VOLUME"); len(v) == 0 || !strings.Contains(v[0].args, "/data") {
		t.Errorf("VOLUME = %v, want /data, the one writable place", v)
	}
	var cmd strings.Builder
	for _, in := range append(final.find("ENTRYPOINT"), final.find("CMD")...) {
		cmd.WriteString(in.args + " ")
	}
	for _, want := range []string{"bursar", `"serve"`, `"0.0.0.0:8080"`, `"/data"`} {
		if !strings.Contains(cmd.String(), want) {
			t.Errorf("ENTRYPOINT/CMD %q lacks %s", cmd.String(), want)
		}
	}
}

// The parser must see through what would hide a bad line: continuations,
// comments inside them, and a later USER overriding an earlier one.
func TestParseDockerfile(t *testing.T) {
	text := "ARG GO=1.26\nFROM golang:1.26.8 AS build\nRUN a \\\n# note\n  b\nFROM --platform=linux/amd64 scratch\nUSER 65532\nUSER root\n"
	stages, err := parseDockerfile(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 || stages[0].name != "build" || stages[1].image != "scratch" {
		t.Fatalf("stages = %+v", stages)
	}
	if got := stages[0].find("RUN"); len(got) != 1 || got[0].args != "a  b" {
		t.Errorf("RUN = %+v, want one instruction %q", got, "a  b")
	}
	users := stages[1].find("USER")
	if got := users[len(users)-1].args; got != "root" {
		t.Errorf("last USER = %q, want root", got)
	}
	if _, err := parseDockerfile("RUN x\nFROM scratch\n"); err == nil {
		t.Errorf("RUN before FROM parsed without error")
	}
}
