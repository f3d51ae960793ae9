package demo

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/usersig"
)

// TestDemo: the demo's server takes "me", and its bots do what the help
// says: bob rejects, carol is busy, echo answers.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	url, stop, err := Start(ctx, config.DefaultSDKAppID, Secret, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	me, err := engine.New(engine.Options{Server: url, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer me.Destroy()
	events := make(chan engine.Event, 64)
	me.AddObserver(engine.NewObserver(func(ev engine.Event) { events <- ev }))
	sig, err := usersig.Gen(config.DefaultSDKAppID, Secret, User, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := me.Init(ctx, config.DefaultSDKAppID, User, sig); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bot  string
		want string // the event that tells
	}{
		{"bob", "onUserReject"},
		{"carol", "onUserLineBusy"},
		{"echo", "onCallBegin"},
	} {
		if _, err := me.Call(ctx, tc.bot, engine.MediaTypeAudio, engine.CallParams{}); err != nil {
			t.Fatalf("call %s: %v", tc.bot, err)
		}
		if !waitEvent(ctx, events, tc.want) {
			t.Fatalf("call %s: no %s", tc.bot, tc.want)
		}
		if tc.want == "onCallBegin" {
			if err := me.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if !waitEvent(ctx, events, "onCallEnd", "onCallCancelled") {
			t.Fatalf("call %s did not end", tc.bot)
		}
	}
}

// waitEvent waits for an event of one of names.
func waitEvent(ctx context.Context, events <-chan engine.Event, names ...string) bool {
	for {
		select {
		case ev := <-events:
			for _, n := range names {
				if ev.Name() == n {
					return true
				}
			}
		case <-ctx.Done():
			return false
		}
	}
}
