package e2e

import (
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
)

// TestDestroyFromObserver: a callee whose observer destroys its engine on
// the incoming call (a program that quits from its event handler) does not
// hang: Destroy returns, the engine is closed for use, and the caller is
// told, when the invitation times out, that bob did not answer (a callee
// that logs out while its call rings does not end the invitation: it may
// log in again on another device).
func TestDestroyFromObserver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	destroyed := make(chan struct{})
	bob.AddObserver(engine.NewObserver(func(ev engine.Event) {
		if _, ok := ev.(engine.CallReceived); ok {
			bob.Destroy()
			close(destroyed)
		}
	}))
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{Timeout: 1})
	select {
	case <-destroyed:
	case <-time.After(wait):
		t.Fatal("Destroy called from an observer did not return")
	}
	wantCode(t, "bob: Call after Destroy", func() error {
		_, err := bob.Call(ctx(t), "alice", engine.MediaTypeAudio, engine.CallParams{})
		return err
	}(), protocol.CodeEngineDestroyed)
	bob.expect(received(info, "alice", "bob", ""))
	alice.expect(engine.UserNoResponse{CallID: info.CallID, UserID: "bob"}, cancelled(info, "alice", engine.ReasonNoResponse))
	bob.quiet() // destroyed: nothing more is delivered
}
