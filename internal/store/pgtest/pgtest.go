// Package pgtest gives tests a fresh PostgreSQL database each.
//
// With BURSAR_TEST_DATABASE_URL set (postgres://user:pass@host:port/db, a
// role allowed to CREATE DATABASE), every database is created on that
// server. Otherwise the first test that asks starts one throw-away cluster
// for the whole test process, from the system's PostgreSQL binaries
// (initdb and postgres, found on PATH or under /usr/lib/postgresql/*/bin),
// in a temporary directory, listening on a free port of 127.0.0.1 with a
// random password; Main or Run stops it and removes its files when the
// tests end. As root, the cluster runs as the user postgres (or nobody):
// PostgreSQL refuses to run as root. Without the binaries, tests skip,
// unless CI=true, where they fail.
//
// Each call of URL creates a database with a random name and drops it when
// the test ends, so tests and packages can run in parallel.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvURL names the environment variable of an existing server to use.
const EnvURL = "BURSAR_TEST_DATABASE_URL"

// ErrNoPostgres reports that PostgreSQL's server binaries are not installed.
var ErrNoPostgres = errors.New("pgtest: PostgreSQL server binaries (initdb, postgres) not found on PATH or under /usr/lib/postgresql/*/bin")

// The cluster is the test process's: one per process, started on first use
// and stopped by Run, which is why this package, unlike the rest of Bursar,
// keeps state at package level.
var state struct {
	sync.Mutex
	inMain  bool
	started bool
	err     error    // why the cluster could not start, for every later test
	cluster *cluster // nil when an external server is used
	admin   *sql.DB  // the maintenance database, to create databases with
	base    *url.URL // admin's URL; a test's URL differs in its path
}

// Main runs the tests of a package with TestMain(m) { pgtest.Main(m) } and
// exits with their status.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the tests and stops the cluster, if one was started; it returns
// the exit status, for a TestMain that has more to clean up.
func Run(m *testing.M) int {
	state.Lock()
	state.inMain = true
	state.Unlock()
	code := m.Run()
	state.Lock()
	defer state.Unlock()
	if state.admin != nil {
		if err := state.admin.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest: close the admin connection:", err)
		}
	}
	if state.cluster != nil {
		if err := state.cluster.stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	return code
}

// Start starts a throw-away cluster of its own, outside any test, and
// returns the URL of an empty database in it and a func that stops the
// cluster and removes its files. Like the test cluster it trades
// durability for speed (fsync and synchronous_commit off).
func Start() (dbURL string, stop func(), err error) { return startOwn(false) }

// StartDurable is Start with PostgreSQL's own durability settings: every
// commit waits for its WAL to reach the disk, as on a production server.
// Benchmarks use it, so that a measured commit is one that a 2xx may
// acknowledge.
func StartDurable() (dbURL string, stop func(), err error) { return startOwn(true) }

func startOwn(durable bool) (dbURL string, stop func(), err error) {
	bin, err := findBinaries()
	if err != nil {
		return "", nil, err
	}
	c, err := startCluster(bin, durable)
	if err != nil {
		return "", nil, err
	}
	stop = func() {
		if err := c.stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	admin, err := sql.Open("pgx", c.url("postgres"))
	if err == nil {
		defer admin.Close()
		_, err = admin.Exec("CREATE DATABASE bursar")
	}
	if err != nil {
		stop()
		return "", nil, fmt.Errorf("pgtest: create database: %w", err)
	}
	return c.url("bursar"), stop, nil
}

// URL creates an empty database for the test and returns its URL. The
// database is dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	admin, base, err := server()
	switch {
	case errors.Is(err, ErrNoPostgres) && os.Getenv("CI") == "true":
		t.Fatalf("%v; CI=true requires PostgreSQL (apt-get install postgresql)", err)
	case errors.Is(err, ErrNoPostgres):
		t.Skipf("%v; install PostgreSQL or set %s", err, EnvURL)
	case err != nil:
		t.Fatal(err)
	}
	name := "bursar_test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u := *base
	u.Path = "/" + name
	return u.String()
}

// server returns the maintenance database of the test server, starting the
// cluster on first use.
func server() (*sql.DB, *url.URL, error) {
	state.Lock()
	defer state.Unlock()
	if !state.started {
		state.started = true
		state.err = start()
	}
	return state.admin, state.base, state.err
}

// start connects to the external server or starts the cluster; it runs
// with state locked.
func start() error {
	raw := os.Getenv(EnvURL)
	if raw == "" {
		bin, err := findBinaries()
		if err != nil {
			return err
		}
		if !state.inMain {
			return errors.New("pgtest: the package's TestMain must call pgtest.Main(m) or pgtest.Run(m), which stops the cluster")
		}
		c, err := startCluster(bin, false)
		if err != nil {
			return err
		}
		state.cluster = c
		raw = c.url("postgres")
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "postgres" && base.Scheme != "postgresql") {
		return fmt.Errorf("pgtest: %s must be a postgres:// URL", EnvURL)
	}
	admin, err := sql.Open("pgx", base.String())
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	admin.SetMaxOpenConns(4)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		return errors.Join(fmt.Errorf("pgtest: connect to the test server: %w", err), admin.Close())
	}
	state.admin, state.base = admin, base
	return nil
}

// findBinaries returns the directory that holds initdb and postgres.
func findBinaries() (string, error) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(debian, func(i, j int) bool { return version(debian[i]) > version(debian[j]) }) // newest first
	dirs = append(dirs, debian...)
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

// Bin returns the path of one of PostgreSQL's programs (pg_dump,
// pg_restore, psql) from the directory of the server binaries that the
// throw-away cluster runs, so that client and server versions match; or,
// with BURSAR_TEST_DATABASE_URL set, the program found on PATH. Without
// PostgreSQL it skips the test, or fails it under CI=true, as URL does.
func Bin(t testing.TB, name string) string {
	t.Helper()
	if os.Getenv(EnvURL) != "" {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Fatalf("pgtest: %s: %v", name, err)
		}
		return p
	}
	dir, err := findBinaries()
	switch {
	case errors.Is(err, ErrNoPostgres) && os.Getenv("CI") == "true":
		t.Fatalf("%v; CI=true requires PostgreSQL (apt-get install postgresql)", err)
	case err != nil:
		t.Skipf("%v; install PostgreSQL or set %s", err, EnvURL)
	}
	p := filepath.Join(dir, name)
	if !isFile(p) {
		t.Fatalf("pgtest: %s is not beside initdb in %s", name, dir)
	}
	return p
}

// version reads the major version out of /usr/lib/postgresql/NN/bin.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails on supported platforms
	return hex.EncodeToString(b)
}

// cluster is a running throw-away PostgreSQL server.
type cluster struct {
	dir      string
	port     int
	password string
	proc     *os.Process
	exited   chan struct{} // closed when the server process has ended
	// durable keeps PostgreSQL's durability settings; otherwise fsync,
	// synchronous_commit and full_page_writes are off.
	durable bool
}

// url returns the URL of the cluster's database db.
func (c *cluster) url(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", c.password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// runAs is who the cluster's processes run as: nil for the current user,
// or an unprivileged user when the tests run as root.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil && uid != 0 {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
		}
	}
	return nil, errors.New("pgtest: running as root, and neither user postgres nor nobody exists to run PostgreSQL as")
}

func startCluster(bin string, durable bool) (*cluster, error) {
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	sweep()
	dir, err := os.MkdirTemp("", "bursar-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &cluster{dir: dir, password: randomHex(16), durable: durable}
	fail := func(err error) (*cluster, error) {
		return nil, errors.Join(err, os.RemoveAll(dir))
	}
	pwfile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return fail(fmt.Errorf("pgtest: %w", err))
	}
	if cred != nil {
		for _, p := range []string{dir, pwfile} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return fail(fmt.Errorf("pgtest: %w", err))
			}
		}
	}
	data := filepath.Join(dir, "data")
	// #nosec G204 -- bin is PostgreSQL's own directory found by findBinaries, and every argument is built here.
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--pwfile", pwfile,
		"-A", "scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("pgtest: initdb: %v\n%s", err, out))
	}
	// A port free a moment ago may be taken by the time the server binds
	// it; another try takes another port.
	for attempt := 0; ; attempt++ {
		err := c.startServer(bin, data, cred)
		if err == nil {
			return c, nil
		}
		if attempt == 2 {
			return fail(err)
		}
	}
}

// sweep removes the directories of clusters whose test process was killed
// before it could: the server died with it (see Pdeathsig) and removed its
// postmaster.pid, and an hour has passed, so no test process is still
// setting the directory up.
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "bursar-pgtest-*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < time.Hour {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "data", "postmaster.pid")); errors.Is(err, os.ErrNotExist) {
			// A directory that cannot be removed now is retried by the next run's sweep.
			_ = os.RemoveAll(d)
		}
	}
}

// startServer starts postgres on a free port and waits until it accepts
// connections.
func (c *cluster) startServer(bin, data string, cred *syscall.Credential) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	logPath := filepath.Join(c.dir, "postgres.log")
	// #nosec G304 -- logPath is inside the cluster's own temporary directory.
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer logFile.Close()
	args := []string{"-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections=300", "-c", "shared_buffers=64MB"}
	if !c.durable {
		// Durability is worthless in a throw-away test cluster and costs time.
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	// #nosec G204 -- bin is PostgreSQL's own directory found by findBinaries, and every argument is built here.
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Dir = c.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig stops the server if the test process dies without running
	// Run's cleanup (a test timeout, a kill). The kernel sends it when the
	// thread that started the child exits, so that thread is kept locked
	// and alive, waiting for the server, until the server ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	started := make(chan error, 1)
	c.exited = make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer close(c.exited)
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait() // how the server ended shows in its log
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	c.proc = cmd.Process
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-c.exited:
			return fmt.Errorf("pgtest: postgres exited at start:\n%s", tail(logPath))
		default:
		}
		if ready(c.url("postgres")) {
			return nil
		}
		if time.Now().After(deadline) {
			c.halt()
			return fmt.Errorf("pgtest: postgres did not accept connections within 60s:\n%s", tail(logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func ready(u string) bool {
	db, err := sql.Open("pgx", u)
	if err != nil {
		return false
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return db.PingContext(ctx) == nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of a log file, to explain a failure.
func tail(path string) string {
	b, _ := os.ReadFile(path) // #nosec G304 -- path is a log file in the cluster's own temporary directory.
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return strings.TrimSpace(string(b))
}

// halt shuts the server down, killing it if it takes more than 30 s.
func (c *cluster) halt() {
	if c.proc == nil {
		return
	}
	_ = c.proc.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.proc.Kill()
		<-c.exited
	}
	c.proc = nil
}

// stop shuts the server down (fast shutdown: open sessions are ended) and
// removes its files.
func (c *cluster) stop() error {
	c.halt()
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("pgtest: remove %s: %w", c.dir, err)
	}
	return nil
}
