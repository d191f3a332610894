package guard

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	crstests "github.com/corazawaf/coraza-coreruleset/v4/tests"
	"github.com/corazawaf/coraza/v3/types"
	"github.com/coreruleset/go-ftw/config"
	"github.com/coreruleset/go-ftw/output"
	"github.com/coreruleset/go-ftw/runner"
	"github.com/coreruleset/go-ftw/test"
	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"
)

// ftwTestDirectives is the configuration that the Core Rule Set's
// regression tests are written against, as Coraza's own regression test
// sets it (corazawaf/coraza, testing/coreruleset, and coraza-proxy-wasm for
// the logging phase): text responses are inspected, response and logging
// phase rules log without blocking, the limits that the
// 920 tests probe have the values they expect, and a rule logs the
// X-CRS-Test header that go-ftw uses to find each test in the log.
const ftwTestDirectives = `
SecResponseBodyMimeType text/plain
SecDefaultAction "phase:3,log,auditlog,pass"
SecDefaultAction "phase:4,log,auditlog,pass"
SecDefaultAction "phase:5,log,auditlog,pass"
SecAction "id:900005,phase:1,nolog,pass,\
  ctl:ruleRemoveById=910000,\
  setvar:tx.crs_validate_utf8_encoding=1,\
  setvar:tx.arg_name_length=100,\
  setvar:tx.arg_length=400,\
  setvar:tx.total_arg_length=64000,\
  setvar:tx.max_num_args=255,\
  setvar:tx.max_file_size=64100,\
  setvar:tx.combined_file_sizes=65535"
SecRule REQUEST_HEADERS:X-CRS-Test "@rx ^.*$" "id:999999,phase:1,log,msg:'X-CRS-Test %{MATCHED_VAR}',pass,t:none"
`

// ftwMinPassRate is the share of the regression tests that must pass.
const ftwMinPassRate = 0.99

// TestCoreRuleSetRegression runs the Core Rule Set's own regression tests
// (the YAML files embedded in coraza-coreruleset) with go-ftw against the
// guard's WAF, configured as Bursar configures it but at paranoia level 4
// and in detect mode, so that every rule runs and its id reaches the log.
// A test that fails must be listed, with its reason, in
// testdata/ftw-exceptions.yaml; a listed test that passes must be removed
// from it, so the list stays true. It takes a few minutes, so it runs only
// with BURSAR_FTW=1 (CI stage 8).
func TestCoreRuleSetRegression(t *testing.T) {
	if os.Getenv("BURSAR_FTW") != "1" {
		t.Skip("set BURSAR_FTW=1 to run the Core Rule Set regression tests (a few minutes)")
	}
	exceptions := readFTWExceptions(t)

	logPath := filepath.Join(t.TempDir(), "waf.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	var logMu sync.Mutex
	logWriter := bufio.NewWriter(logFile)
	cfg := WAFConfig{Mode: WAFDetect, Paranoia: 4, MaxBodyBytes: 13107200, Problem: testProblem, Events: &recordedEvents{},
		directives: ftwTestDirectives,
		onMatch: func(m types.MatchedRule) {
			// go-ftw reads the log while requests run: every line is
			// flushed as it is written.
			logMu.Lock()
			defer logMu.Unlock()
			_, _ = io.WriteString(logWriter, m.ErrorLog()+"\n")
			_ = logWriter.Flush()
		}}
	h, err := NewWAF(cfg, http.HandlerFunc(httpbin))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	tests := loadFTWTests(t)
	u, _ := url.Parse(srv.URL)
	host := u.Hostname()
	port, _ := strconv.Atoi(u.Port())
	fc := config.NewDefaultConfig()
	fc.WithLogfile(logPath)
	fc.TestOverride.Overrides.DestAddr = &host
	fc.TestOverride.Overrides.Port = &port
	zerolog.SetGlobalLevel(zerolog.WarnLevel)

	rc := &runner.RunnerConfig{ShowOnlyFailed: true, ReadTimeout: time.Minute}
	format := "quiet"
	// BURSAR_FTW_INCLUDE=regexp runs only the tests whose ids match, and
	// prints go-ftw's account of each failure, to study one.
	if inc := os.Getenv("BURSAR_FTW_INCLUDE"); inc != "" {
		re, err := regexp.Compile(inc)
		if err != nil {
			t.Fatalf("BURSAR_FTW_INCLUDE: %v", err)
		}
		rc.Include, rc.Exclude, format = re, regexp.MustCompile(".*"), "normal"
		zerolog.SetGlobalLevel(zerolog.DebugLevel)
	}
	var out strings.Builder
	start := time.Now()
	res, err := runner.Run(fc, tests, rc, output.NewOutput(format, &out))
	if format != "quiet" {
		t.Log(out.String())
	}
	if err != nil {
		t.Fatalf("go-ftw: %v\n%s", err, out.String())
	}
	st := res.Stats
	ran := len(st.Success) + len(st.Failed)
	t.Logf("%d test files, %d tests run in %s: %d passed, %d failed, %d skipped, %d ignored",
		len(tests), ran, time.Since(start).Round(time.Second), len(st.Success), len(st.Failed), len(st.Skipped), len(st.Ignored))
	if ran == 0 {
		t.Fatal("no regression test ran")
	}

	for _, id := range st.Failed {
		if _, known := exceptions[id]; !known {
			t.Errorf("regression test %s fails and is not a known exception (testdata/ftw-exceptions.yaml)", id)
		}
	}
	for id := range exceptions {
		if slices.Contains(st.Success, id) {
			t.Errorf("regression test %s passes now: remove it from testdata/ftw-exceptions.yaml", id)
		} else if !slices.Contains(st.Failed, id) {
			t.Errorf("testdata/ftw-exceptions.yaml lists %s, which did not run", id)
		}
	}
	if rate := float64(len(st.Success)) / float64(ran); rate < ftwMinPassRate {
		t.Errorf("pass rate %.2f%% (%d of %d), want at least %.0f%%", 100*rate, len(st.Success), ran, 100*ftwMinPassRate)
	} else {
		t.Logf("pass rate %.2f%% (%d of %d)", 100*rate, len(st.Success), ran)
	}
}

// loadFTWTests reads every regression test file embedded in
// coraza-coreruleset.
func loadFTWTests(t *testing.T) []*test.FTWTest {
	t.Helper()
	var tests []*test.FTWTest
	err := fs.WalkDir(crstests.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		b, err := fs.ReadFile(crstests.FS, path)
		if err != nil {
			return err
		}
		ft, err := test.GetTestFromYaml(b, path)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		// go-ftw v1.3.0 aborts the whole run when a test marked
		// retry_once fails twice; such a test must count as one failure
		// like any other. The retry works around a race of the logging
		// phase that the guard does not have (it logs before it answers).
		for i := range ft.Tests {
			for j := range ft.Tests[i].Stages {
				ft.Tests[i].Stages[j].Output.RetryOnce = nil
			}
		}
		tests = append(tests, ft)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tests
}

// readFTWExceptions reads testdata/ftw-exceptions.yaml: test id -> reason.
func readFTWExceptions(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "ftw-exceptions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ex map[string]string
	if err := yaml.Unmarshal(b, &ex); err != nil {
		t.Fatalf("testdata/ftw-exceptions.yaml: %v", err)
	}
	for id, reason := range ex {
		if strings.TrimSpace(reason) == "" {
			t.Errorf("testdata/ftw-exceptions.yaml: %s has no reason", id)
		}
	}
	return ex
}

// httpbin is the back end that the regression tests expect (they were
// written against httpbin and CRS's albedo): /anything echoes the body,
// /base64/X answers X decoded, /reflect answers what its JSON body asks
// for, everything else a short text.
func httpbin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	switch {
	case r.URL.Path == "/reflect":
		reflectBack(w, r)
	case r.URL.Path == "/anything":
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") == "application/x-www-form-urlencoded" {
			if s, err := url.QueryUnescape(string(body)); err == nil {
				body = []byte(s)
			}
		}
		_, _ = w.Write(body)
	case strings.HasPrefix(r.URL.Path, "/base64/"):
		b, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(r.URL.Path, "/base64/"))
		_, _ = w.Write(b)
	default:
		_, _ = io.WriteString(w, "Hello!")
	}
}

// reflectBack answers as albedo's /reflect does: the body is a JSON object
// naming the status, headers and body (plain or base64) of the answer,
// which is how the response-phase tests make the back end leak.
func reflectBack(w http.ResponseWriter, r *http.Request) {
	var spec struct {
		Status      int               `json:"status"`
		Headers     map[string]string `json:"headers"`
		Body        string            `json:"body"`
		EncodedBody string            `json:"encodedBody"`
	}
	if err := json.NewDecoder(r.Body).Decode(&spec); err != nil || spec.Status < 0 || spec.Status >= 600 || (spec.Status > 0 && spec.Status < 100) {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	body := []byte(spec.Body)
	if spec.Body == "" && spec.EncodedBody != "" {
		var err error
		if body, err = base64.StdEncoding.DecodeString(spec.EncodedBody); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
	}
	for k, v := range spec.Headers {
		w.Header().Add(k, v)
	}
	if spec.Status == 0 {
		spec.Status = http.StatusOK
	}
	w.WriteHeader(spec.Status)
	_, _ = w.Write(body)
}
