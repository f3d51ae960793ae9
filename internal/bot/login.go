package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
)

// Backoff bounds of LoginWithRetry: the first wait, doubled after each
// failure up to the last.
const (
	FirstBackoff = 200 * time.Millisecond
	MaxBackoff   = 5 * time.Second
)

// LoginWithRetry logs in with login, retrying with backoff while the
// server cannot be reached (not up yet, timing out, shutting down); the
// events that arrive meanwhile go to emit, and say tells of each retry.
// It returns nil once logged in or when ctx ends first; a login refused
// for another reason (a bad userSig) is its error.
func LoginWithRetry(ctx context.Context, login func(context.Context) error, events <-chan engine.Event, emit func(engine.Event), say func(string)) error {
	backoff := FirstBackoff
	for {
		err := login(ctx)
		if err == nil || ctx.Err() != nil {
			return nil
		}
		if !retryable(err) {
			return err
		}
		say(fmt.Sprintf("%v; retrying in %s", err, backoff))
		if !waitEmitting(ctx, backoff, events, emit) {
			return nil
		}
		backoff = min(backoff*2, MaxBackoff)
	}
}

// retryable says whether a failed login may work later.
func retryable(err error) bool {
	switch protocol.CodeOf(err) {
	case protocol.CodeServerUnreachable, protocol.CodeRequestTimeout, protocol.CodeConnectionLost, protocol.CodeShuttingDown:
		return true
	}
	return false
}

// waitEmitting waits d, streaming the events meanwhile; false when ctx
// ended first.
func waitEmitting(ctx context.Context, d time.Duration, events <-chan engine.Event, emit func(engine.Event)) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case ev := <-events:
			emit(ev)
		case <-timer.C:
			return true
		}
	}
}
