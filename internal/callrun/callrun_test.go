package callrun

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/protocol"
)

var t0 = time.Unix(1700000000, 0)

func TestOutcome(t *testing.T) {
	const id = "c1"
	tests := []struct {
		name   string
		events []engine.Event
		want   Result
		code   int
		done   bool
	}{
		{"connected", []engine.Event{engine.CallBegin{CallID: id}, engine.UserJoin{CallID: id, UserID: "bob"},
			engine.CallEnd{CallID: id, Reason: engine.ReasonHangup}}, Connected, 0, true},
		{"rejected", []engine.Event{engine.UserReject{CallID: id, UserID: "bob"},
			engine.CallCancelled{CallID: id, Reason: engine.ReasonReject}}, Rejected, 3, true},
		{"busy", []engine.Event{engine.UserLineBusy{CallID: id, UserID: "bob"},
			engine.CallCancelled{CallID: id, Reason: engine.ReasonLineBusy}}, Busy, 4, true},
		{"no response", []engine.Event{engine.UserNoResponse{CallID: id, UserID: "bob"},
			engine.CallCancelled{CallID: id, Reason: engine.ReasonNoResponse}}, NoResponse, 5, true},
		{"reason only", []engine.Event{engine.CallCancelled{CallID: id, Reason: engine.ReasonLineBusy}}, Busy, 4, true},
		{"cancelled", []engine.Event{engine.CallCancelled{CallID: id, Reason: engine.ReasonCanceled}}, Cancelled, 6, true},
		{"not over", nil, Cancelled, 6, false},
		{"other call ignored", []engine.Event{engine.CallBegin{CallID: "other"}, engine.CallEnd{CallID: "other"}}, Cancelled, 6, false},
		{"kicked", []engine.Event{engine.KickedOffline{}}, Error, exit.Auth, true},
		{"kicked after connect", []engine.Event{engine.CallBegin{CallID: id}, engine.KickedOffline{}}, Connected, 0, true},
		{"refused reconnect", []engine.Event{engine.ErrorEvent{Code: protocol.CodeUserSigExpired},
			engine.ConnectionChanged{State: engine.Disconnected}}, Error, exit.Auth, true},
		{"group: most common", []engine.Event{
			engine.UserReject{CallID: id, UserID: "a"}, engine.UserLineBusy{CallID: id, UserID: "b"},
			engine.UserLineBusy{CallID: id, UserID: "c"}, engine.CallCancelled{CallID: id, Reason: engine.ReasonLineBusy}}, Busy, 4, true},
		{"group: tie", []engine.Event{
			engine.UserNoResponse{CallID: id, UserID: "a"}, engine.UserReject{CallID: id, UserID: "b"},
			engine.CallCancelled{CallID: id, Reason: engine.ReasonNoResponse}}, Rejected, 3, true},
		{"group: anyone connected", []engine.Event{
			engine.UserReject{CallID: id, UserID: "a"}, engine.CallBegin{CallID: id},
			engine.CallEnd{CallID: id}}, Connected, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := NewTracker(id)
			done := false
			for _, ev := range tt.events {
				done = tr.Observe(ev, t0)
			}
			res, code := tr.Outcome()
			if res != tt.want || code != tt.code || done != tt.done {
				t.Errorf("got %s/%d done=%v, want %s/%d done=%v", res, code, done, tt.want, tt.code, tt.done)
			}
		})
	}
}

func TestFail(t *testing.T) {
	tr := NewTracker("")
	tr.Fail(protocol.Errorf(protocol.CodeServerUnreachable, "no"))
	got := tr.Summary(t0)
	want := Summary{TS: t0.UnixMilli(), Event: "summary", Result: Error, ExitCode: exit.Unreachable,
		Error: "server unreachable (5002): no"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestSummaryDuration(t *testing.T) {
	tr := NewTracker("c")
	tr.Observe(engine.CallBegin{CallID: "c"}, t0)
	tr.Observe(engine.CallEnd{CallID: "c", TotalTime: 2}, t0.Add(2500*time.Millisecond))
	var m map[string]any
	if err := json.Unmarshal(SummaryLine(tr.Summary(t0.Add(time.Hour))), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"ts": float64(t0.Add(time.Hour).UnixMilli()), "event": "summary", "result": "connected",
		"callId": "c", "durationSeconds": 2.5, "exitCode": float64(0)}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

func TestEventLine(t *testing.T) {
	b, err := EventLine(engine.UserReject{CallID: "c", UserID: "bob"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"ts":1700000000000,"event":"onUserReject","callId":"c","userId":"bob"}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	b, err = EventLine(engine.KickedOffline{}, t0)
	if err != nil || string(b) != `{"ts":1700000000000,"event":"onKickedOffline"}` {
		t.Errorf("got %s, %v", b, err)
	}
}

type fakeHanger struct {
	calls  int
	events chan engine.Event
}

func (f *fakeHanger) Hangup(context.Context) error {
	f.calls++
	f.events <- engine.CallEnd{CallID: "c", Reason: engine.ReasonHangup}
	return nil
}

func TestWaitDuration(t *testing.T) {
	events := make(chan engine.Event, 10)
	h := &fakeHanger{events: events}
	events <- engine.CallBegin{CallID: "c"}
	tr := NewTracker("c")
	var seen []string
	start := time.Now()
	Wait(context.Background(), h, tr, events, Options{Duration: 50 * time.Millisecond,
		Emit: func(ev engine.Event) { seen = append(seen, ev.Name()) }})
	if time.Since(start) < 50*time.Millisecond {
		t.Error("hung up too early")
	}
	if h.calls != 1 {
		t.Errorf("hangups = %d, want 1", h.calls)
	}
	if diff := cmp.Diff([]string{"onCallBegin", "onCallEnd"}, seen); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if res, _ := tr.Outcome(); res != Connected {
		t.Errorf("result %s", res)
	}
}

func TestWaitInterrupt(t *testing.T) {
	events := make(chan engine.Event, 10)
	h := &fakeHanger{events: events}
	intr := make(chan struct{}, 1)
	intr <- struct{}{}
	tr := NewTracker("c")
	Wait(context.Background(), hangupCancels{h}, tr, events, Options{Interrupt: intr})
	if res, code := tr.Outcome(); res != Cancelled || code != exit.Cancelled {
		t.Errorf("got %s/%d", res, code)
	}
}

// hangupCancels answers a hangup while ringing with CallCancelled.
type hangupCancels struct{ f *fakeHanger }

func (h hangupCancels) Hangup(context.Context) error {
	h.f.events <- engine.CallCancelled{CallID: "c", Reason: engine.ReasonCanceled}
	return nil
}

func TestWaitSecondInterrupt(t *testing.T) {
	events := make(chan engine.Event)
	intr := make(chan struct{}, 2)
	intr <- struct{}{}
	intr <- struct{}{}
	tr := NewTracker("c")
	done := make(chan struct{})
	go func() {
		Wait(context.Background(), errHanger{}, tr, events, Options{Interrupt: intr})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after the second interrupt")
	}
}

type errHanger struct{}

func (errHanger) Hangup(context.Context) error { return errors.New("no") }

func TestDescribe(t *testing.T) {
	for ev, want := range map[engine.Event]string{
		engine.UserReject{UserID: "bob"}:                                         "bob rejected the call",
		engine.CallBegin{}:                                                       "connected",
		engine.UserLineBusy{UserID: "bob"}:                                       "bob's line is busy",
		engine.ConnectionChanged{State: engine.Connected}:                        "",
		engine.CallCancelled{Reason: engine.ReasonNoResponse}:                    "call not connected (noResponse)",
		engine.CallEnd{UserID: "bob", Reason: engine.ReasonHangup, TotalTime: 3}: "call ended by bob (hangup) after 3s",
	} {
		if got := Describe(ev); got != want {
			t.Errorf("Describe(%#v) = %q, want %q", ev, got, want)
		}
	}
}
