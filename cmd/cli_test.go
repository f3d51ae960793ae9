package cmd_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/internal/pgtest"
)

// The tests build termcall once and run it as a user would.

const secret = "cli-test-secret"

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "termcall-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "termcall")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary, "github.com/termcall/termcall")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building termcall:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if err := pgtest.StopShared(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// env is a clean environment: no config file, no stray TERMCALL_*.
func env(t *testing.T, server string) []string {
	t.Helper()
	home := t.TempDir()
	e := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "TERMCALL_SECRET=" + secret,
		"TERMCALL_MIN_INVITE_TIMEOUT=1s"} // serve: tests ring out in 1 s (default the reference's 10 s)
	if server != "" {
		e = append(e, "TERMCALL_SERVER="+server)
	}
	return e
}

// lockedBuffer collects a child's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// proc is a long-running child (serve, bot).
type proc struct {
	cmd    *exec.Cmd
	out    *lockedBuffer // everything read from the watched stream, and the other
	lines  chan string
	waited chan struct{}
}

// start runs termcall with args; the lines of stdout (or stderr when
// watchStderr) are delivered on p.lines. The child is stopped in cleanup.
func start(t *testing.T, server string, watchStderr bool, args ...string) *proc {
	t.Helper()
	c := exec.Command(binary, args...)
	c.Env = env(t, server)
	p := &proc{cmd: c, out: &lockedBuffer{}, lines: make(chan string, 1000), waited: make(chan struct{})}
	pr, pw := io.Pipe()
	if watchStderr {
		c.Stderr, c.Stdout = pw, p.out
	} else {
		c.Stdout, c.Stderr = pw, p.out
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			_, _ = p.out.Write([]byte(sc.Text() + "\n"))
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		close(p.lines)
	}()
	go func() {
		_ = c.Wait()
		pw.Close()
		close(p.waited)
	}()
	t.Cleanup(func() {
		_ = c.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.waited:
		case <-time.After(10 * time.Second):
			_ = c.Process.Kill()
			<-p.waited
		}
		if t.Failed() {
			t.Logf("output of termcall %s:\n%s", strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

// waitLine waits for a line containing want and returns it.
func (p *proc) waitLine(t *testing.T, want string) string {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("process ended before printing %q:\n%s", want, p.out.String())
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %q:\n%s", want, p.out.String())
		}
	}
}

// startServer runs termcall serve on a free port and returns its URL.
func startServer(t *testing.T, extra ...string) string {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--keepalive", "1s"}, extra...)
	p := start(t, "", true, args...)
	l := p.waitLine(t, "termcall serve listening on ")
	addr := strings.TrimSpace(strings.TrimPrefix(l, "termcall serve listening on "))
	return "http://" + addr
}

// startBot runs a bot and waits until it is logged in.
func startBot(t *testing.T, server, user string, args ...string) *proc {
	t.Helper()
	p := start(t, server, false, append([]string{"bot", "--json", "--user", user}, args...)...)
	p.waitLine(t, `"state":"connected"`)
	return p
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs termcall to completion.
func run(t *testing.T, server string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, binary, args...)
	c.Env = env(t, server)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("termcall %v: %v", args, err)
	}
	return r
}

// jsonLines parses stdout as NDJSON, failing on any other line.
func jsonLines(t *testing.T, stdout string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %q (%v)", l, err)
		}
		out = append(out, m)
	}
	return out
}

// summary returns the last line, which must be the summary.
func summary(t *testing.T, lines []map[string]any) map[string]any {
	t.Helper()
	if len(lines) == 0 {
		t.Fatal("no JSON output")
	}
	s := lines[len(lines)-1]
	if s["event"] != "summary" {
		t.Fatalf("last line is not the summary: %v", s)
	}
	return s
}

// eventNames lists the call-model events of a stream: connection and media
// reports (availability, volume, network quality), which come and go with
// timing, are left out.
func eventNames(lines []map[string]any) []string {
	var names []string
	for _, l := range lines {
		switch n, _ := l["event"].(string); n {
		case "", "onConnectionChanged", "onUserAudioAvailable", "onUserVideoAvailable",
			"onUserVoiceVolumeChanged", "onUserNetworkQualityChanged":
		default:
			names = append(names, n)
		}
	}
	return names
}

func TestCallOutcomes(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	startBot(t, srv, "ans", "--mode", "answer")
	startBot(t, srv, "rej", "--mode", "reject")
	startBot(t, srv, "bsy", "--mode", "busy")
	startBot(t, srv, "noans", "--mode", "no-answer")

	tests := []struct {
		caller, callee string
		args           []string
		code           int
		result         string
	}{
		{"c1", "ans", []string{"--duration", "1s"}, 0, "connected"},
		{"c2", "rej", nil, 3, "rejected"},
		{"c3", "bsy", nil, 4, "busy"},
		{"c4", "noans", []string{"--timeout", "1s"}, 5, "no_response"},
	}
	for _, tt := range tests {
		t.Run(tt.result, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"call", tt.callee, "--json", "--user", tt.caller}, tt.args...)
			r := run(t, srv, args...)
			if r.code != tt.code {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			lines := jsonLines(t, r.stdout)
			s := summary(t, lines)
			if s["result"] != tt.result || s["exitCode"] != float64(tt.code) || s["callId"] == "" {
				t.Errorf("summary %v", s)
			}
			for _, l := range lines {
				if _, ok := l["ts"].(float64); !ok {
					t.Errorf("line without ts: %v", l)
				}
			}
			if tt.code == 0 {
				want := []string{"onCallBegin", "onUserJoin", "onCallEnd", "summary"}
				if diff := cmp.Diff(want, eventNames(lines)); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				if d, _ := s["durationSeconds"].(float64); d < 0.9 || d > 10 {
					t.Errorf("durationSeconds = %v, want about 1", d)
				}
			}
		})
	}
}

func TestCallHumanOutput(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	startBot(t, srv, "rej", "--mode", "reject")
	r := run(t, srv, "call", "rej", "--user", "alice")
	if r.code != 3 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout without --json: %q", r.stdout)
	}
	for _, want := range []string{"ringing rej...", "rej rejected the call"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

func TestCallErrors(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	startBot(t, srv, "bob", "--mode", "answer")

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name   string
		server string
		args   []string
		code   int
		json   bool
	}{
		{"unreachable", closed, []string{"call", "bob", "--user", "alice", "--json"}, 8, true},
		{"bad usersig", srv, []string{"call", "bob", "--user", "alice", "--usersig", "garbage", "--json"}, 7, true},
		{"sig for another user", srv, []string{"call", "bob", "--user", "alice", "--usersig", sigFor(t, "mallory"), "--json"}, 7, true},
		{"bad flag", srv, []string{"call", "bob", "--user", "alice", "--bogus"}, 2, false},
		{"bad callee", srv, []string{"call", "b@d", "--user", "alice"}, 2, false},
		{"bad user", srv, []string{"call", "bob", "--user", "a!ice"}, 2, false},
		{"no user", srv, []string{"call", "bob"}, 2, false},
		{"no args", srv, []string{"call"}, 2, false},
		{"fractional timeout", srv, []string{"call", "bob", "--user", "alice", "--timeout", "1500ms"}, 2, false},
		{"room and str-room", srv, []string{"call", "bob", "--user", "alice", "--room", "5", "--str-room", "x"}, 2, false},
		{"unknown command", srv, []string{"frobnicate"}, 2, false},
		{"serve without secret", "", []string{"serve", "--secret", "", "--listen", "127.0.0.1:0"}, 2, false},
		{"bad bot mode", srv, []string{"bot", "--user", "x", "--mode", "sometimes"}, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, tt.server, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if tt.json {
				s := summary(t, jsonLines(t, r.stdout))
				if s["result"] != "error" || s["exitCode"] != float64(tt.code) {
					t.Errorf("summary %v", s)
				}
			} else if r.stdout != "" {
				t.Errorf("stdout: %q", r.stdout)
			}
		})
	}
}

func sigFor(t *testing.T, user string) string {
	t.Helper()
	r := run(t, "", "usersig", "--user", user, "--secret", secret, "--expire", "1h")
	if r.code != 0 {
		t.Fatalf("usersig: %d %s", r.code, r.stderr)
	}
	return strings.TrimSpace(r.stdout)
}

func TestUserSigCommand(t *testing.T) {
	t.Parallel()
	sig := sigFor(t, "alice")
	if sig == "" || strings.ContainsAny(sig, " \n") {
		t.Fatalf("usersig printed %q", sig)
	}
	srv := startServer(t)
	startBot(t, srv, "bob", "--mode", "reject")
	// A real sig passed with --usersig logs in (no --secret needed).
	r := run(t, srv, "call", "bob", "--user", "alice", "--usersig", sig)
	if r.code != 3 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
}

// createTeamGroup adds the users and creates group team through the
// user and group commands, checking what group show, list and the errors
// print.
func createTeamGroup(t *testing.T, srv string) {
	t.Helper()
	if r := run(t, srv, "user", "add", "alice", "gans", "grej", "gbsy", "gbsy2"); r.code != 0 {
		t.Fatalf("user add: %d %s", r.code, r.stderr)
	}
	r := run(t, srv, "group", "create", "team", "--name", "The team", "alice", "gans", "grej", "--json")
	if r.code != 0 {
		t.Fatalf("group create: %d %s", r.code, r.stderr)
	}
	if r := run(t, srv, "group", "add", "team", "gbsy", "gbsy2"); r.code != 0 {
		t.Fatalf("group add: %d %s", r.code, r.stderr)
	}
	r = run(t, srv, "group", "show", "team", "--json")
	var g struct {
		GroupID string   `json:"groupId"`
		Name    string   `json:"name"`
		Members []string `json:"members"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil || r.code != 0 {
		t.Fatalf("group show: %d %q %v", r.code, r.stdout, err)
	}
	if diff := cmp.Diff([]string{"alice", "gans", "gbsy", "gbsy2", "grej"}, g.Members); diff != "" || g.Name != "The team" {
		t.Errorf("group %+v (-want +got):\n%s", g, diff)
	}
	if r := run(t, srv, "group", "list", "--json"); r.code != 0 || len(jsonLines(t, r.stdout)) != 1 {
		t.Errorf("group list: %d %q", r.code, r.stdout)
	}
	if r := run(t, srv, "group", "show", "nope"); r.code != 1 {
		t.Errorf("show missing group: exit %d", r.code)
	}
	if r := run(t, srv, "group", "list", "--usersig", "garbage"); r.code != 7 {
		t.Errorf("bad admin sig: exit %d", r.code)
	}
}

func TestGroupCallAndAdmin(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	createTeamGroup(t, srv)

	startBot(t, srv, "gans", "--mode", "answer")
	startBot(t, srv, "grej", "--mode", "reject")
	startBot(t, srv, "gbsy", "--mode", "busy")
	startBot(t, srv, "gbsy2", "--mode", "busy")

	r := run(t, srv, "groupcall", "--group", "team", "gans", "grej", "--user", "alice", "--duration", "1s", "--json")
	if r.code != 0 {
		t.Fatalf("groupcall: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if s := summary(t, jsonLines(t, r.stdout)); s["result"] != "connected" {
		t.Errorf("summary %v", s)
	}
	// Nobody answers: the most common outcome wins.
	r = run(t, srv, "groupcall", "--group", "team", "grej", "gbsy", "gbsy2", "--user", "alice", "--json")
	if r.code != 4 {
		t.Fatalf("groupcall: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if s := summary(t, jsonLines(t, r.stdout)); s["result"] != "busy" {
		t.Errorf("summary %v", s)
	}

	if r := run(t, srv, "group", "remove", "team", "gbsy2"); r.code != 0 {
		t.Fatalf("group remove: %d %s", r.code, r.stderr)
	}
	if r := run(t, srv, "groupcall", "--group", "team", "gbsy2", "--user", "alice"); r.code != 1 {
		t.Errorf("calling a non-member: exit %d, want 1\n%s", r.code, r.stderr)
	}
}

func TestJoin(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	run(t, srv, "group", "create", "g", "alice", "jans", "carol")
	startBot(t, srv, "jans", "--mode", "answer")
	caller := start(t, srv, false, "groupcall", "--group", "g", "jans", "--user", "alice", "--json", "--room", "4242", "--duration", "20s")
	caller.waitLine(t, `"event":"onCallBegin"`)
	r := run(t, srv, "join", "--group", "g", "--room", "4242", "--user", "carol", "--duration", "500ms", "--json")
	if r.code != 0 {
		t.Fatalf("join: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if s := summary(t, jsonLines(t, r.stdout)); s["result"] != "connected" {
		t.Errorf("summary %v", s)
	}
	caller.waitLine(t, `"event":"onUserLeave"`)
	if r := run(t, srv, "join", "--group", "g", "--room", "999", "--user", "carol"); r.code != 1 {
		t.Errorf("join with no call: exit %d", r.code)
	}
	if r := run(t, srv, "join", "--user", "carol"); r.code != 2 {
		t.Errorf("join without target: exit %d", r.code)
	}
}

// containsAll reports whether s contains each of subs.
func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestHistory(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	startBot(t, srv, "hbob", "--mode", "answer")
	r := run(t, srv, "call", "hbob", "--user", "halice", "--duration", "1s", "--json")
	if r.code != 0 {
		t.Fatalf("call: exit %d\n%s", r.code, r.stderr)
	}
	callID, _ := summary(t, jsonLines(t, r.stdout))["callId"].(string)

	r = run(t, srv, "history", "--user", "halice", "--json")
	if r.code != 0 {
		t.Fatalf("history: exit %d\n%s", r.code, r.stderr)
	}
	recs := jsonLines(t, r.stdout)
	if len(recs) != 1 || recs[0]["callId"] != callID || recs[0]["result"] != float64(3) {
		t.Fatalf("history records: %v (call %s)", recs, callID)
	}
	r = run(t, srv, "history", "--user", "halice")
	if r.code != 0 || !containsAll(r.stdout, callID, "outgoing", "hbob") {
		t.Errorf("history table: exit %d\n%s", r.code, r.stdout)
	}
	if r := run(t, srv, "history", "--user", "halice", "--result", "missed", "--json"); r.code != 0 || r.stdout != "" {
		t.Errorf("missed calls: %d %q", r.code, r.stdout)
	}
	if r := run(t, srv, "history", "--user", "halice", "--result", "sideways"); r.code != 2 {
		t.Errorf("bad --result: exit %d", r.code)
	}
	if r := run(t, srv, "history", "delete", callID, "--user", "halice"); r.code != 0 {
		t.Fatalf("delete: exit %d\n%s", r.code, r.stderr)
	}
	if r := run(t, srv, "history", "--user", "halice", "--json"); r.code != 0 || r.stdout != "" {
		t.Errorf("after delete: %d %q", r.code, r.stdout)
	}
}

func TestInterruptCancels(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	startBot(t, srv, "ring", "--mode", "no-answer")
	p := start(t, srv, true, "call", "ring", "--user", "ialice")
	p.waitLine(t, "ringing ring...")
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.waited:
	case <-time.After(15 * time.Second):
		t.Fatal("call did not exit after SIGINT")
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 6 {
		t.Errorf("exit code %d, want 6\n%s", code, p.out.String())
	}
}

func TestBotWaitsForServer(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	bot := start(t, "http://"+addr, false, "bot", "--json", "--user", "early", "--mode", "reject")
	bot.waitLine(t, `"state":"connecting"`)
	start(t, "", true, "serve", "--listen", addr, "--data", t.TempDir()).waitLine(t, "listening on")
	bot.waitLine(t, `"state":"connected"`)
	if r := run(t, "http://"+addr, "call", "early", "--user", "ealice"); r.code != 3 {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	r := run(t, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "termcall ") {
		t.Errorf("version: %d %q", r.code, r.stdout)
	}
}

func TestBotKickedOffline(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	first := startBot(t, srv, "kbob")
	startBot(t, srv, "kbob")
	first.waitLine(t, `"event":"onKickedOffline"`)
	select {
	case <-first.waited:
	case <-time.After(15 * time.Second):
		t.Fatal("kicked bot did not exit")
	}
	if code := first.cmd.ProcessState.ExitCode(); code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
}
