package tui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
)

// TestHistoryOutcomes: each record says how its call went, not only its
// direction; an empty filter says so.
func TestHistoryOutcomes(t *testing.T) {
	at := t0.Add(-time.Hour).Unix()
	out := func(id, to string, reason engine.EndReason, total int64) engine.CallRecord {
		return engine.CallRecord{CallID: id, Inviter: "me", InviteList: []string{to}, MediaType: engine.MediaTypeAudio,
			Result: engine.ResultOutgoing, BeginTime: at, TotalTime: total, EndReason: reason}
	}
	recs := []engine.CallRecord{
		out("r1", "alice", engine.ReasonReject, 0),
		out("r2", "bob", engine.ReasonLineBusy, 0),
		out("r3", "carol", engine.ReasonNoResponse, 0),
		out("r4", "dave", engine.ReasonHangup, 0), // hung up while it rang
		out("r5", "erin", engine.ReasonHangup, 42),
	}
	h := newHarnessWith(t, Options{}, recs)
	h.keys("h")
	v := stripANSI(h.m.Render())
	for who, want := range map[string]string{"alice": "outgoing, rejected", "bob": "outgoing, busy", "carol": "outgoing, no answer",
		"dave": "outgoing, cancelled", "erin": "outgoing, connected"} {
		line := ""
		for _, l := range strings.Split(v, "\n") {
			if strings.Contains(l, " "+who+" ") {
				line = l
			}
		}
		if !strings.Contains(line, want) {
			t.Errorf("%s's record %q, want %q in it:\n%s", who, line, want, v)
		}
	}
	h.keys("tab") // missed: there are none
	if v := stripANSI(h.m.Render()); !strings.Contains(v, "No missed calls; tab shows the others.") {
		t.Errorf("an empty filter does not say so:\n%s", v)
	}
}

// TestStatusClearsOnScreenChange: a status line belongs to the screen it
// was said on.
func TestStatusClearsOnScreenChange(t *testing.T) {
	h := newHarnessWith(t, Options{}, sampleRecords())
	h.m.setStatus("deleted 1 record")
	h.keys("h")
	if h.m.status != "" {
		t.Errorf("history shows the old status %q", h.m.status)
	}
	h.m.setStatus("loaded")
	h.keys("esc")
	if h.m.status != "" {
		t.Errorf("home shows the old status %q", h.m.status)
	}
}

// TestFailedDialKeepsText: a call that cannot be placed (an unknown user)
// leaves the dial box as it was, text and focus, to correct it.
func TestFailedDialKeepsText(t *testing.T) {
	h := newHarness(t, Options{})
	h.eng.errs = map[string]error{"Call": protocol.Errorf(protocol.CodeUnknownUser, "user \"bobb\" is unknown to this server")}
	h.keys("/")
	h.typeText("bobb")
	h.keys("enter")
	if !h.m.home.typing || string(h.m.home.dial) != "bobb" {
		t.Errorf("after a failed dial: typing %v, dial box %q; want the focus and \"bobb\"", h.m.home.typing, string(h.m.home.dial))
	}
	if !h.m.statusErr || !strings.Contains(h.m.status, "unknown") {
		t.Errorf("status %q (error %v), want the error", h.m.status, h.m.statusErr)
	}
}

// TestEnterDuringCompactCall: enter on a contact while a compact call is
// up says why nothing happens instead of doing nothing silently.
func TestEnterDuringCompactCall(t *testing.T) {
	c := compactScreen(t)
	c.keys("enter")
	if !c.m.statusErr || !strings.Contains(c.m.status, "hang up first") {
		t.Errorf("enter during a compact call: status %q (error %v)", c.m.status, c.m.statusErr)
	}
}

// TestFirstLoginRetries: a login that finds no server tries again by
// itself, backing off, and the UI is online once the server answers; a
// refused userSig is not retried.
func TestFirstLoginRetries(t *testing.T) {
	var down bool
	tries := 0
	unreachable := protocol.Errorf(protocol.CodeServerUnreachable, "cannot reach ws://127.0.0.1:7480/v1/ws")
	login := func(context.Context) error {
		tries++
		if down {
			return unreachable
		}
		return nil
	}
	h := newHarness(t, Options{Login: login})
	var delays []time.Duration
	h.m.retryAfter = func(d time.Duration) tea.Cmd { delays = append(delays, d); return nil }
	down = true
	h.send(loginMsg{err: unreachable}) // as the first login gets when the server is not up yet
	if h.m.conn != connOffline || !strings.Contains(h.m.status, "trying again in 1 s") {
		t.Fatalf("after a failed login: conn %v, status %q", h.m.conn, h.m.status)
	}
	h.send(retryLoginMsg{}) // fails again: 2 s
	down = false
	h.send(retryLoginMsg{}) // the server is up
	if tries != 3 || h.m.conn != connOnline {
		t.Errorf("after the retries: %d logins, conn %v; want 3 and online", tries, h.m.conn)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second}, delays); diff != "" {
		t.Errorf("backoff (-want +got):\n%s", diff)
	}

	asked := false
	h.m.retryAfter = func(time.Duration) tea.Cmd { asked = true; return nil }
	h.send(loginMsg{err: protocol.Errorf(protocol.CodeInvalidUserSig, "userSig signature does not match")})
	if asked || h.m.conn != connOffline {
		t.Errorf("a refused userSig: retried %v, conn %v", asked, h.m.conn)
	}
}
