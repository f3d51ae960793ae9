// Package pgtest gives tests a real, throwaway PostgreSQL server: initdb in
// a new temporary directory, pg_ctl start listening on 127.0.0.1 (a free
// port) and on a unix socket in that directory, and stop plus removal when
// done. As root, the server runs as the postgres user (runuser), which owns
// its directory, as PostgreSQL requires.
//
// A test binary shares one server (Shared; stop it from TestMain with
// StopShared) and each test gets a fresh database (NewDB). A test that
// stops or restarts the server starts its own (Start).
//
// Tests are skipped, saying why, only when the PostgreSQL binaries are
// absent (./test.sh installs the postgresql package).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
)

// ErrNoPostgres is returned by Start when no PostgreSQL binaries are found.
var ErrNoPostgres = errors.New("pgtest: PostgreSQL binaries (initdb, pg_ctl) not found on PATH or under /usr/lib/postgresql/*/bin; install the postgresql package (./test.sh does)")

// Server is one PostgreSQL server process and its data directory.
type Server struct {
	Dir  string // the temporary directory (data, socket, log)
	Port int    // TCP port on 127.0.0.1

	bin     string   // directory of initdb and pg_ctl
	runAs   []string // command prefix: runuser -u postgres -- when root
	data    string
	logf    string
	nextDB  atomic.Int64
	watcher *exec.Cmd // stops the server if this process dies without Close
}

// findBin returns the directory holding initdb and pg_ctl.
func findBin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "initdb")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { // newest version first
		va, _ := strconv.Atoi(filepath.Base(filepath.Dir(a)))
		vb, _ := strconv.Atoi(filepath.Base(filepath.Dir(b)))
		return vb - va
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrNoPostgres
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Start creates a new PostgreSQL cluster in a temporary directory and
// starts it. Stop it with Close (which removes the directory).
func Start() (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "termcall-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, bin: bin, data: filepath.Join(dir, "data"), logf: filepath.Join(dir, "log", "postgres.log")}
	fail := func(err error) (*Server, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	for _, d := range []string{s.data, filepath.Dir(s.logf)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fail(err)
		}
	}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as postgres, which
		// must own its directories.
		u, err := user.Lookup("postgres")
		if err != nil {
			return fail(fmt.Errorf("pgtest: running as root needs a postgres user: %w", err))
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			return fail(err)
		}
		for _, d := range []string{dir, s.data, filepath.Dir(s.logf)} {
			if err := os.Chown(d, uid, gid); err != nil {
				return fail(err)
			}
		}
		s.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	if out, err := s.run("initdb", "-D", s.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions"); err != nil {
		return fail(fmt.Errorf("pgtest: initdb: %w: %s", err, out))
	}
	if s.Port, err = freePort(); err != nil {
		return fail(err)
	}
	if err := s.Restart(); err != nil {
		return fail(err)
	}
	s.watch()
	return s, nil
}

// watch starts a watchdog shell, in its own process group, that stops the
// server and removes its directory once this process is gone: a test
// binary killed by go test's timeout (or a panic that skips TestMain's
// StopShared) leaves no PostgreSQL running. Close stops the watchdog.
func (s *Server) watch() {
	stop := strings.Join(append(slices.Clone(s.runAs), filepath.Join(s.bin, "pg_ctl"), "-D", s.data, "-m", "immediate", "-w", "stop"), " ")
	script := fmt.Sprintf("while kill -0 %d 2>/dev/null; do sleep 1; done; %s >/dev/null 2>&1; rm -rf %s", os.Getpid(), stop, s.Dir)
	cmd := exec.Command("sh", "-c", script)
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err == nil {
		s.watcher = cmd
	}
}

func (s *Server) run(tool string, args ...string) ([]byte, error) {
	argv := append(append(slices.Clone(s.runAs), filepath.Join(s.bin, tool)), args...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
}

// Restart starts the server again after Stop (Start does it the first
// time), on the same port and data.
func (s *Server) Restart() error {
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c max_connections=200 -c shared_buffers=32MB", s.Port, s.Dir)
	if out, err := s.run("pg_ctl", "-D", s.data, "-l", s.logf, "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(s.logf)
		return fmt.Errorf("pgtest: pg_ctl start: %w: %s\nlog:\n%s", err, out, log)
	}
	return nil
}

// Stop stops the server (pg_ctl stop -m fast: clients are disconnected,
// transactions in flight are rolled back), keeping its data for Restart.
func (s *Server) Stop() error {
	if out, err := s.run("pg_ctl", "-D", s.data, "-w", "-t", "60", "-m", "fast", "stop"); err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w: %s", err, out)
	}
	return nil
}

// Close stops the server if it runs and removes its directory.
func (s *Server) Close() error {
	if s.watcher != nil {
		_ = s.watcher.Process.Kill()
		_ = s.watcher.Wait()
		s.watcher = nil
	}
	var err error
	if _, e := os.Stat(filepath.Join(s.data, "postmaster.pid")); e == nil {
		err = s.Stop()
	}
	return errors.Join(err, os.RemoveAll(s.Dir))
}

// DSN is the connection URL of database db over TCP.
func (s *Server) DSN(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// CreateDB creates a new, empty database and returns its DSN.
func (s *Server) CreateDB(ctx context.Context) (string, error) {
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), s.nextDB.Add(1))
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtest: create database: %w", err)
	}
	return s.DSN(name), nil
}

// DropDB drops a database made by CreateDB, disconnecting its clients.
func (s *Server) DropDB(ctx context.Context, dsn string) error {
	name := dsn[strings.LastIndex(dsn, "/")+1:]
	name, _, _ = strings.Cut(name, "?")
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	return err
}

var (
	sharedMu  sync.Mutex
	shared    *Server
	sharedErr error
)

// Shared returns the test binary's shared server, starting it on first
// use; it skips the test when PostgreSQL is not installed and fails it
// when the server does not start. Call StopShared from TestMain.
func Shared(t testing.TB) *Server {
	t.Helper()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = Start()
	}
	if errors.Is(sharedErr, ErrNoPostgres) {
		t.Skip(sharedErr.Error())
	}
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// StopShared stops and removes the shared server, if one was started.
func StopShared() error {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil {
		return nil
	}
	err := shared.Close()
	shared = nil
	return err
}

// NewDB returns the DSN of a fresh database on the shared server, dropped
// when the test ends.
func NewDB(t testing.TB) string {
	t.Helper()
	s := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn, err := s.CreateDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.DropDB(ctx, dsn); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return dsn
}

// StartPrivate starts a server of the test's own (to stop and restart it),
// closed when the test ends. It skips without PostgreSQL.
func StartPrivate(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if errors.Is(err, ErrNoPostgres) {
		t.Skip(err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// Main runs a test binary's tests (call it from TestMain), then stops the
// shared server and, when everything passed, fails on leaked goroutines.
func Main(m *testing.M) {
	code := m.Run()
	if err := StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: errors on successful test run: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
