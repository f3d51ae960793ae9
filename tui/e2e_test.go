package tui_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/testutil"
)

// tmux drives one private tmux server (its own socket).
type tmux struct {
	t      *testing.T
	socket string
}

func (x tmux) run(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", x.socket}, args...)...).CombinedOutput()
	return string(out), err
}

func (x tmux) capture() string {
	out, err := x.run("capture-pane", "-p", "-t", "e2e")
	if err != nil {
		x.t.Fatalf("capture-pane: %v: %s", err, out)
	}
	return out
}

func (x tmux) send(keys ...string) {
	x.t.Helper()
	if out, err := x.run(append([]string{"send-keys", "-t", "e2e"}, keys...)...); err != nil {
		x.t.Fatalf("send-keys %q: %v: %s", keys, err, out)
	}
}

// waitFor polls the screen until it matches re, or fails at the deadline.
func (x tmux) waitFor(what string, re *regexp.Regexp, timeout time.Duration) string {
	x.t.Helper()
	var screen string
	testutil.WithTimeout(x.t, func() string {
		if screen = x.capture(); re.MatchString(screen) {
			return ""
		}
		return fmt.Sprintf("waiting for %s (%s): timed out; screen:\n%s", what, re, screen)
	}, timeout)
	return screen
}

// TestDemoEndToEnd runs the real binary's demo in tmux: call echo, see the
// call connect and its clock run, hang up, see the call in the history.
func TestDemoEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped with -short")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "termcall")
	build := exec.Command("go", "build", "-o", bin, "github.com/termcall/termcall")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	x := tmux{t: t, socket: fmt.Sprintf("termcall-e2e-%d", os.Getpid())}
	t.Cleanup(func() { _, _ = x.run("kill-server") })
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("env -u TERMCALL_CONFIG HOME=%s XDG_CONFIG_HOME=%s LANG=C.UTF-8 %s demo --no-audio-device --log-file %s; echo EXIT=$?; sleep 600",
		home, home, bin, filepath.Join(dir, "demo.log"))
	if out, err := x.run("new-session", "-d", "-s", "e2e", "-x", "100", "-y", "30", script); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}

	x.waitFor("the home screen, online", regexp.MustCompile(`● online(?s:.*)> echo`), 30*time.Second)
	x.send("Enter") // echo is the first contact
	x.waitFor("the call to connect", regexp.MustCompile(`In call · audio`), 15*time.Second)
	x.waitFor("the clock to run", regexp.MustCompile(`In call · audio +00:0[2-9]`), 15*time.Second)
	x.send("x")
	x.waitFor("the call to end", regexp.MustCompile(`call ended · 00:0[2-9]`), 10*time.Second)
	x.send("h")
	screen := x.waitFor("the call in the history", regexp.MustCompile(`History(?s:.*)> .*echo +audio +outgoing, connected +00:0[2-9]`), 10*time.Second)
	if strings.Contains(screen, "level=") {
		t.Errorf("log lines on the screen:\n%s", screen)
	}
	x.send("q")
	x.waitFor("termcall to exit", regexp.MustCompile(`EXIT=0`), 15*time.Second)
}
