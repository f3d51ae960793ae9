package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/server"
)

// proxy forwards TCP to the server and can cut or refuse connections, to
// drop a client's WebSocket the way a network would.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	refuse bool
	frozen bool
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.cut(); p.wg.Wait() })
	return p
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.refuse {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); p.pipe(up, c) }()
		go func() { defer p.wg.Done(); p.pipe(c, up) }()
	}
}

// pipe copies src to dst, dropping what passes while the proxy is frozen,
// as a network partition would.
func (p *proxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			frozen := p.frozen
			p.mu.Unlock()
			if !frozen {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) setFrozen(f bool) {
	p.mu.Lock()
	p.frozen = f
	p.mu.Unlock()
}

// cut closes every connection through the proxy.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) setRefuse(r bool) {
	p.mu.Lock()
	p.refuse = r
	p.mu.Unlock()
}

func via(p *proxy) loginOpt { return func(o *engine.Options, _ *client) { o.Server = p.url() } }

// TestDroppedConnectionResumes: bob's link drops mid-call; while he is away
// alice hangs up; bob reconnects within the grace period and gets exactly
// the events he missed.
func TestDroppedConnectionResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	px := newProxy(t, e.ln.Addr().String())
	alice := e.login("alice")
	bob := e.login("bob", via(px), connEvents)
	info := connect1v1(t, alice, bob)
	px.setRefuse(true)
	px.cut()
	bob.expect(engine.ConnectionChanged{State: engine.Reconnecting})
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(info, engine.RoleCaller, "alice", engine.ReasonHangup))
	time.Sleep(300 * time.Millisecond)
	px.setRefuse(false)
	bob.expect(engine.ConnectionChanged{State: engine.Connected},
		engine.UserLeave{CallID: info.CallID, UserID: "alice"}, end(info, engine.RoleCalled, "alice", engine.ReasonHangup))
	bob.quiet()

	// A call still in progress survives a drop untouched.
	info2 := connect1v1(t, alice, bob)
	px.cut()
	bob.expect(engine.ConnectionChanged{State: engine.Reconnecting}, engine.ConnectionChanged{State: engine.Connected})
	if st := bob.Status(); st != engine.StatusAccept {
		t.Fatalf("bob after the reconnect: got %v, want accept", st)
	}
	bob.must("Hangup", bob.Hangup(ctx(t)))
	alice.expect(engine.UserLeave{CallID: info2.CallID, UserID: "bob"}, end(info2, engine.RoleCaller, "bob", engine.ReasonHangup))
}

// TestGracePeriodExpires: a client gone longer than the grace period leaves
// its call (reason offline); when it comes back, its engine reconciles.
func TestGracePeriodExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withGrace(500*time.Millisecond))
	px := newProxy(t, e.ln.Addr().String())
	alice := e.login("alice")
	bob := e.login("bob", via(px))
	info := connect1v1(t, alice, bob)
	px.setRefuse(true)
	px.cut()
	alice.expect(engine.UserLeave{CallID: info.CallID, UserID: "bob"}, end(info, engine.RoleCaller, "bob", engine.ReasonOffline))
	px.setRefuse(false)
	// bob's device is gone at the server, so its replay is gone too: the
	// engine ends the call it still believed in.
	bob.expect(end(info, engine.RoleCalled, "", engine.ReasonEndByServer))
	if st := bob.Status(); st != engine.StatusNone {
		t.Errorf("bob: got %v, want none", st)
	}
}

// TestSilentLinkDetected: the network silently drops everything (no TCP
// close); keepalives find out within seconds on both sides.
func TestSilentLinkDetected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withGrace(500*time.Millisecond))
	px := newProxy(t, e.ln.Addr().String())
	alice := e.login("alice")
	bob := e.login("bob", via(px), connEvents)
	info := connect1v1(t, alice, bob)
	px.setFrozen(true)
	start := time.Now()
	bob.expect(engine.ConnectionChanged{State: engine.Reconnecting})
	alice.expect(engine.UserLeave{CallID: info.CallID, UserID: "bob"}, end(info, engine.RoleCaller, "bob", engine.ReasonOffline))
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("a silent link took %v to detect; keepalive is 1 s", d)
	}
	// Bytes the partition ate are gone for good here (a real network would
	// retransmit), so drop the half-dead attempts when it heals.
	px.setFrozen(false)
	px.cut()
	bob.expect(engine.ConnectionChanged{State: engine.Connected}, end(info, engine.RoleCalled, "", engine.ReasonEndByServer))
}

// The crash test runs a server in a child process (this test binary,
// re-executed) so that it can be killed with SIGKILL.
const childEnv = "TERMCALL_E2E_CHILD_SERVER"

func TestMain_childServer(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		t.Skip("only runs as the child of TestServerCrashClosesRecords")
	}
	dir, addr, _ := strings.Cut(spec, "|")
	srv, err := server.New(context.Background(), server.Config{SDKAppID: appID, Secret: secret, DataDir: dir, Keepalive: time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var ln net.Listener
	for i := 0; i < 100; i++ {
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go srv.Serve(ln) //nolint:errcheck
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	os.Exit(0)
}

func startChild(t *testing.T, dir, addr string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestMain_childServer$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir+"|"+addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	return cmd
}

// TestServerCrashClosesRecords: the server dies with a call live; on
// restart the call's records are closed with endByServer, and the engines
// reconnect and end the call they were in.
func TestServerCrashClosesRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	child := startChild(t, dir, addr)
	e := &env{t: t, dir: dir, url: "http://" + addr}
	alice := waitChildInit(t, e, "alice")
	bob := e.login("bob")
	info := connect1v1(t, alice, bob)
	time.Sleep(2500 * time.Millisecond) // connected for 2.5 s (the heartbeat is written every second)
	child.Process.Kill()                //nolint:errcheck
	child.Wait()                        //nolint:errcheck
	startChild(t, dir, addr)

	// The engines end the call themselves when they find the restarted
	// server without it; onCallEnd still carries the connected seconds.
	for _, w := range []struct {
		c    *client
		role engine.Role
	}{{alice, engine.RoleCaller}, {bob, engine.RoleCalled}} {
		got := w.c.rec.take(1, wait)
		want := end(info, w.role, "", engine.ReasonEndByServer)
		if diff := cmp.Diff([]engine.Event{want}, got, ignoreTotalTime); diff != "" {
			t.Fatalf("%s: events (-want +got):\n%s", w.c.id, diff)
		}
		if tt := got[0].(engine.CallEnd).TotalTime; tt < 1 {
			t.Errorf("%s: onCallEnd totalTime of a call connected for over a second: got %d s, want >= 1", w.c.id, tt)
		}
	}
	recs, err := alice.QueryRecentCalls(ctx(t), engine.RecentCallsFilter{})
	alice.must("QueryRecentCalls", err)
	if len(recs) != 1 || recs[0].CallID != info.CallID || recs[0].EndReason != engine.ReasonEndByServer || recs[0].Live ||
		recs[0].Result != engine.ResultOutgoing {
		t.Fatalf("alice's records after the crash: %+v", recs)
	}
	if recs[0].TotalTime < 1 {
		t.Errorf("total time of the crashed call: got %d s, want >= 1", recs[0].TotalTime)
	}
	// The restarted server works.
	info2 := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(received(info2, "alice", "bob", ""))
}
