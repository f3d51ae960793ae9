package pgtest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/termcall/termcall/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := StopShared(); err != nil {
		println(err.Error())
		code = 1
	}
	os.Exit(code)
}

// TestNewDB: two tests' databases are distinct and usable.
func TestNewDB(t *testing.T) {
	ctx := context.Background()
	a, b := NewDB(t), NewDB(t)
	if a == b {
		t.Fatalf("NewDB returned %q twice", a)
	}
	for _, dsn := range []string{a, b} {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := c.QueryRow(ctx, "SELECT 1 + 1").Scan(&n); err != nil || n != 2 {
			t.Errorf("SELECT 1 + 1 = %d, %v", n, err)
		}
		c.Close(ctx)
	}
}

// TestStopRestart: a private server stops (clients fail) and restarts with its data.
func TestStopRestart(t *testing.T) {
	ctx := context.Background()
	s := StartPrivate(t)
	c, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	c.Close(ctx)
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if c, err := pgx.Connect(ctx, s.DSN("postgres")); err == nil {
		c.Close(ctx)
		t.Fatal("connected to a stopped server")
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	c, err = pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var x int
	if err := c.QueryRow(ctx, "SELECT x FROM t").Scan(&x); err != nil || x != 7 {
		t.Errorf("after restart: x = %d, %v; want 7", x, err)
	}
}

const childEnv = "PGTEST_WATCHDOG_CHILD"

// TestWatchdogChild is the child of TestWatchdog: it starts a server,
// prints where, and exits without closing it.
func TestWatchdogChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestWatchdog")
	}
	s, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("started %s %d\n", s.Dir, s.Port)
	os.Exit(0)
}

// TestWatchdog: a test process that dies without Close leaves no
// PostgreSQL running and no directory behind.
func TestWatchdog(t *testing.T) {
	if _, err := findBin(); err != nil {
		t.Skip(err.Error())
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchdogChild$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var dir string
	var port int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "started ") {
			fmt.Sscanf(sc.Text(), "started %s %d", &dir, &port) //nolint:errcheck
		}
	}
	cmd.Wait() //nolint:errcheck
	if dir == "" {
		t.Fatal("the child started no server")
	}
	testutil.WithTimeout(t, func() string {
		_, statErr := os.Stat(dir)
		c, dialErr := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if c != nil {
			c.Close()
		}
		if os.IsNotExist(statErr) && dialErr != nil {
			return ""
		}
		return fmt.Sprintf("after the child died: dir %s: %v; port %d: %v; want both gone", dir, statErr, port, dialErr)
	}, 60*time.Second)
}
