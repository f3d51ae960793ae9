package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/internal/testutil"
)

func TestDecide(t *testing.T) {
	tests := []struct {
		p      Policy
		caller string
		want   Action
		delay  time.Duration
	}{
		{Policy{Mode: config.BotAnswer, AnswerDelay: time.Second}, "a", Accept, time.Second},
		{Policy{Mode: config.BotReject}, "a", Reject, 0},
		{Policy{Mode: config.BotBusy}, "a", Ignore, 0},
		{Policy{Mode: config.BotNoAnswer}, "a", Nothing, 0},
		{Policy{Mode: config.BotAnswer, Allow: []string{"b"}}, "a", Reject, 0},
		{Policy{Mode: config.BotBusy, Allow: []string{"a", "b"}}, "a", Ignore, 0},
	}
	for _, tt := range tests {
		a, d := Decide(tt.p, tt.caller)
		if a != tt.want || d != tt.delay {
			t.Errorf("Decide(%+v, %q) = %s, %v; want %s, %v", tt.p, tt.caller, a, d, tt.want, tt.delay)
		}
	}
}

// fakeEngine records the bot's requests and answers them with events.
type fakeEngine struct {
	mu     sync.Mutex
	cur    string
	did    []string
	events chan engine.Event
}

func (f *fakeEngine) rec(s string) {
	f.mu.Lock()
	f.did = append(f.did, s)
	f.mu.Unlock()
}

func (f *fakeEngine) Accept(context.Context) error {
	f.rec("accept")
	f.events <- engine.CallBegin{CallID: f.cur}
	return nil
}
func (f *fakeEngine) Reject(context.Context) error { f.rec("reject"); return nil }
func (f *fakeEngine) Ignore(context.Context) error { f.rec("ignore"); return nil }
func (f *fakeEngine) Hangup(context.Context) error {
	f.rec("hangup")
	f.events <- engine.CallEnd{CallID: f.cur}
	return nil
}
func (f *fakeEngine) CurrentCall() (engine.CallInfo, bool) {
	return engine.CallInfo{CallID: f.cur}, f.cur != ""
}

func (f *fakeEngine) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.did...)
}

func runBot(t *testing.T, p Policy, f *fakeEngine) (cancel func() error) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	b := &Bot{Policy: p, Engine: f}
	errc := make(chan error, 1)
	go func() { errc <- b.Run(ctx, f.events) }()
	return func() error { stop(); return <-errc }
}

func waitFor(t *testing.T, f *fakeEngine, want []string) {
	t.Helper()
	testutil.WithTimeout(t, func() string {
		if got := f.actions(); !cmp.Equal(got, want) {
			return fmt.Sprintf("actions = %v, want %v", got, want)
		}
		return ""
	}, 5*time.Second)
}

func TestRunModes(t *testing.T) {
	for _, tt := range []struct {
		mode string
		want []string
	}{
		{config.BotAnswer, []string{"accept"}},
		{config.BotReject, []string{"reject"}},
		{config.BotBusy, []string{"ignore"}},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			f := &fakeEngine{cur: "c1", events: make(chan engine.Event, 10)}
			stop := runBot(t, Policy{Mode: tt.mode}, f)
			f.events <- engine.CallReceived{CallID: "c1", CallerID: "alice"}
			waitFor(t, f, tt.want)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRunNoAnswer(t *testing.T) {
	f := &fakeEngine{cur: "c1", events: make(chan engine.Event, 10)}
	stop := runBot(t, Policy{Mode: config.BotNoAnswer}, f)
	f.events <- engine.CallReceived{CallID: "c1", CallerID: "alice"}
	f.events <- engine.CallCancelled{CallID: "c1", Reason: engine.ReasonNoResponse}
	time.Sleep(20 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := f.actions(); len(got) != 0 {
		t.Errorf("actions = %v, want none", got)
	}
}

func TestRunDelayAndMaxDuration(t *testing.T) {
	f := &fakeEngine{cur: "c1", events: make(chan engine.Event, 10)}
	start := time.Now()
	stop := runBot(t, Policy{Mode: config.BotAnswer, AnswerDelay: 30 * time.Millisecond, MaxDuration: 30 * time.Millisecond}, f)
	f.events <- engine.CallReceived{CallID: "c1", CallerID: "alice"}
	waitFor(t, f, []string{"accept", "hangup"})
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("done after %v; want at least delay + max duration", d)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestRunCancelledBeforeAnswer(t *testing.T) {
	f := &fakeEngine{cur: "c1", events: make(chan engine.Event, 10)}
	stop := runBot(t, Policy{Mode: config.BotAnswer, AnswerDelay: 50 * time.Millisecond}, f)
	f.events <- engine.CallReceived{CallID: "c1", CallerID: "alice"}
	f.events <- engine.CallCancelled{CallID: "c1", Reason: engine.ReasonCanceled}
	time.Sleep(100 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if got := f.actions(); len(got) != 0 {
		t.Errorf("actions = %v, want none", got)
	}
}

func TestRunAllow(t *testing.T) {
	f := &fakeEngine{cur: "c1", events: make(chan engine.Event, 10)}
	stop := runBot(t, Policy{Mode: config.BotAnswer, Allow: []string{"bob"}}, f)
	f.events <- engine.CallReceived{CallID: "c1", CallerID: "mallory"}
	waitFor(t, f, []string{"reject"})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestRunKicked(t *testing.T) {
	f := &fakeEngine{events: make(chan engine.Event, 10)}
	b := &Bot{Policy: Policy{Mode: config.BotAnswer}, Engine: f}
	f.events <- engine.KickedOffline{}
	err := b.Run(context.Background(), f.events)
	var e *exit.Error
	if !errors.As(err, &e) || e.Code != exit.Auth {
		t.Fatalf("Run = %v, want exit code %d", err, exit.Auth)
	}
}
