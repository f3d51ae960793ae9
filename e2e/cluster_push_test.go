package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/server"
)

// TestClusterPushOnlyWhenOffline: in a cluster, an invitee connected to
// another node rings there and gets no offline push; an invitee connected
// nowhere is pushed (to the operator's webhook), once.
func TestClusterPushOnlyWhenOffline(t *testing.T) {
	var mu sync.Mutex
	pushed := map[string]int{} // userId -> pushes
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			UserID string `json:"userId"`
		}
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &p) == nil {
			mu.Lock()
			pushed[p.UserID]++
			mu.Unlock()
		}
	}))
	t.Cleanup(hook.Close)
	withPush := func(c *server.Config) {
		c.Push = server.PushConfig{Webhook: hook.URL, Timeout: time.Second, Retries: 1, Backoff: 50 * time.Millisecond,
			Queue: 10, AllowPrivate: true}
	}
	cl := newCluster(t, 2, withPush)
	cl.node(1).users("dave") // known, never online
	alice, bob := cl.node(1).login("alice"), cl.node(2).login("bob")

	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(received(info, "alice", "bob", ""))
	alice.must("Hangup", alice.Hangup(ctx(t)))
	bob.expect(cancelled(info, "alice", engine.ReasonCanceled))
	alice.expect(cancelled(info, "alice", engine.ReasonCanceled))

	info = alice.mustCall("dave", engine.MediaTypeAudio, engine.CallParams{})
	testutil.Until(t, "dave's push", wait, func() bool { mu.Lock(); defer mu.Unlock(); return pushed["dave"] == 1 })
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(cancelled(info, "alice", engine.ReasonCanceled))
	time.Sleep(300 * time.Millisecond) // a push to bob would have arrived by now
	mu.Lock()
	defer mu.Unlock()
	if pushed["bob"] != 0 || pushed["dave"] != 1 {
		t.Errorf("pushes %v; want dave's only (bob was online on node 2)", pushed)
	}
}
