package bot

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
)

// TestLoginWithRetry: unreachable servers are retried with a doubling
// backoff, the events of the wait are passed on, and a refused login is
// returned at once.
func TestLoginWithRetry(t *testing.T) {
	tries := 0
	down := protocol.Errorf(protocol.CodeServerUnreachable, "server unreachable")
	login := func(context.Context) error {
		tries++
		if tries < 3 {
			return down
		}
		return nil
	}
	events := make(chan engine.Event, 1)
	events <- engine.ConnectionChanged{State: engine.Connecting}
	var said []string
	var emitted []engine.Event
	err := LoginWithRetry(context.Background(), login, events, func(ev engine.Event) { emitted = append(emitted, ev) },
		func(s string) { said = append(said, s) })
	if err != nil || tries != 3 {
		t.Fatalf("LoginWithRetry = %v after %d tries, want nil after 3", err, tries)
	}
	want := []string{down.Error() + "; retrying in 200ms", down.Error() + "; retrying in 400ms"}
	if diff := cmp.Diff(want, said); diff != "" {
		t.Errorf("said (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]engine.Event{engine.ConnectionChanged{State: engine.Connecting}}, emitted); diff != "" {
		t.Errorf("emitted (-want +got):\n%s", diff)
	}

	refused := protocol.Errorf(protocol.CodeInvalidUserSig, "bad userSig")
	tries = 0
	err = LoginWithRetry(context.Background(), func(context.Context) error { tries++; return refused }, nil,
		func(engine.Event) {}, func(string) {})
	if protocol.CodeOf(err) != protocol.CodeInvalidUserSig || tries != 1 {
		t.Errorf("refused login: %v after %d tries, want the error after 1", err, tries)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	unreachable := func(context.Context) error { return protocol.Errorf(protocol.CodeServerUnreachable, "down") }
	if err := LoginWithRetry(ctx, unreachable, nil, func(engine.Event) {}, func(string) {}); err != nil {
		t.Errorf("ctx ended while retrying: %v, want nil", err)
	}
}
