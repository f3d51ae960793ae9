package server_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
)

// receiver is a real local HTTP server recording the pushes it gets.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []pushReq
	// fail answers the first fail[path] requests of a path with 503;
	// hang holds requests of a path until the test ends.
	fail map[string]int
	hang map[string]bool
	stop chan struct{}
}

type pushReq struct {
	path    string
	header  http.Header
	body    []byte
	arrived time.Time
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{fail: map[string]int{}, hang: map[string]bool{}, stop: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, pushReq{path: req.URL.Path, header: req.Header.Clone(), body: b, arrived: time.Now()})
		hang := r.hang[req.URL.Path]
		fail := r.fail[req.URL.Path] > 0
		if fail {
			r.fail[req.URL.Path]--
		}
		r.mu.Unlock()
		if hang {
			select {
			case <-r.stop:
			case <-req.Context().Done():
			}
			return
		}
		if fail {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(func() {
		close(r.stop)
		r.srv.Close()
	})
	return r
}

func (r *receiver) requests(path string) []pushReq {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []pushReq
	for _, g := range r.got {
		if g.path == path {
			out = append(out, g)
		}
	}
	return out
}

func (r *receiver) waitFor(t *testing.T, path string, n int) []pushReq {
	t.Helper()
	var got []pushReq
	testutil.WithTimeout(t, func() string {
		if got = r.requests(path); len(got) < n {
			return fmt.Sprintf("%s: %d requests, want %d", path, len(got), n)
		}
		return ""
	}, 15*time.Second)
	return got
}

func pushLogin(t *testing.T, s *fzServer, user string) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Options{Server: "http://" + s.addr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Init(ctx, fzAppID, user, fzSig(t, user)); err != nil {
		t.Fatal(err)
	}
	return e
}

func codeOf(err error) protocol.Code {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return -1
}

const pushSecret = "push-test-key"

// registerBobPush registers bob's webhook and ntfy endpoints, checks what
// is registered and that bad endpoints are refused, and takes bob offline.
func registerBobPush(ctx context.Context, t *testing.T, s *fzServer, rc *receiver) {
	t.Helper()
	bob := pushLogin(t, s, "bob")
	defer bob.Destroy() // bob is offline now
	_, err := bob.RegisterPush(ctx, rc.srv.URL+"/bob-hook", "")
	if err != nil {
		t.Fatal(err)
	}
	eps, err := bob.RegisterPush(ctx, rc.srv.URL+"/bob-ntfy", engine.PushNtfy)
	if err != nil {
		t.Fatal(err)
	}
	kinds := []string{}
	for _, e := range eps {
		kinds = append(kinds, e.URL[len(rc.srv.URL):]+" "+e.Kind)
	}
	sort.Strings(kinds)
	if diff := cmp.Diff([]string{"/bob-hook webhook", "/bob-ntfy ntfy"}, kinds); diff != "" {
		t.Errorf("registered (-want +got):\n%s", diff)
	}
	for _, bad := range []struct{ url, kind string }{{"ftp://x/y", ""}, {"/relative", ""}, {rc.srv.URL, "carrier-pigeon"}} {
		if _, err := bob.RegisterPush(ctx, bad.url, bad.kind); codeOf(err) != protocol.CodeInvalidPushEndpoint {
			t.Errorf("RegisterPush(%q, %q) = %v, want 3015", bad.url, bad.kind, err)
		}
	}
}

// checkPushSignatures checks that the webhook attempts are numbered from 1
// and signed with pushSecret, and that the signature depends on the key.
func checkPushSignatures(t *testing.T, hooks []pushReq) {
	t.Helper()
	for i, h := range hooks {
		if got := h.header.Get("X-Termcall-Attempt"); got != string(rune('1'+i)) {
			t.Errorf("attempt %d: X-Termcall-Attempt %q", i+1, got)
		}
		ts, sig := h.header.Get("X-Termcall-Timestamp"), h.header.Get("X-Termcall-Signature")
		if !hmac.Equal([]byte(sig), []byte(server.SignPush(pushSecret, ts, h.body))) || !strings.HasPrefix(sig, "sha256=") {
			t.Errorf("attempt %d: signature %q does not verify", i+1, sig)
		}
		if server.SignPush("another key", ts, h.body) == sig {
			t.Error("the signature does not depend on the key")
		}
	}
}

// checkWebhookPayload checks the webhook body of alice's video call to
// offline bob, which expires 20 s after it was made.
func checkWebhookPayload(t *testing.T, body []byte, call engine.CallInfo, vivo *int) {
	t.Helper()
	var p server.PushPayload
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.PushID == "" || p.CreatedAt == 0 || p.ExpiresAt-p.CreatedAt != 20000 {
		t.Errorf("pushId %q, createdAt %d, expiresAt %d (want +20 s)", p.PushID, p.CreatedAt, p.ExpiresAt)
	}
	p.PushID, p.CreatedAt, p.ExpiresAt = "", 0, 0
	want := server.PushPayload{Type: "termcall.offlinePush", Version: 1, SDKAppID: fzAppID, UserID: "bob", CallID: call.CallID,
		CallerID: "alice", InviterID: "alice", Scene: protocol.SceneSingleCall, MediaType: protocol.MediaTypeVideo,
		RoomID: call.RoomID, CalleeIDList: []string{"bob"}, UserData: "ud",
		Info: protocol.OfflinePushInfo{Title: "Lunch?", Desc: "Alice is calling about lunch", Description: "Alice is calling about lunch",
			IOSSound: "ring.caf", AndroidOPPOChannelID: "oppo-1", AndroidVIVOClassification: vivo, IOSPushType: 1,
			Extension: `{"timPushFeatures":{"fcmPushType":0}}`}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("webhook payload (-want +got):\n%s", diff)
	}
}

// checkNtfyPush checks the ntfy request of alice's call: the description as
// body, the title, urgent priority and the call's id.
func checkNtfyPush(t *testing.T, r pushReq, callID string) {
	t.Helper()
	if string(r.body) != "Alice is calling about lunch" || r.header.Get("Title") != "Lunch?" ||
		r.header.Get("Priority") != "urgent" || r.header.Get("X-Termcall-Call-Id") != callID {
		t.Errorf("ntfy request: body %q, headers %v", r.body, r.header)
	}
}

// TestOfflinePush: bob registered a webhook (failing twice) and an ntfy
// topic and logged out; alice calls him. Both endpoints get the push with
// every OfflinePushInfo field, the webhook after retries and signed; the
// operator's webhook hangs and the call goes on regardless.
func TestOfflinePush(t *testing.T) {
	rc := newReceiver(t)
	rc.fail["/bob-hook"] = 2
	rc.hang["/operator"] = true
	s := startFzServerWith(t, func(c *server.Config) {
		c.NoMedia = true
		c.Push = server.PushConfig{Webhook: rc.srv.URL + "/operator", Secret: pushSecret, Timeout: 300 * time.Millisecond,
			Retries: 3, Backoff: 50 * time.Millisecond, Queue: 100, AllowPrivate: true}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	registerBobPush(ctx, t, s, rc)

	// Alice online: bob's invitation is pushed, alice's call is not held up.
	alice := pushLogin(t, s, "alice")
	defer alice.Destroy()
	vivo := 0
	info := &protocol.OfflinePushInfo{Title: "Lunch?", Description: "Alice is calling about lunch", IOSSound: "ring.caf",
		AndroidOPPOChannelID: "oppo-1", AndroidVIVOClassification: &vivo, IOSPushType: 1,
		Extension: `{"timPushFeatures":{"fcmPushType":0}}`}
	start := time.Now()
	call, err := alice.Call(ctx, "bob", engine.MediaTypeVideo, engine.CallParams{Timeout: 20, UserData: "ud", OfflinePushInfo: info})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Call took %v with a hanging push endpoint", took)
	}

	hooks := rc.waitFor(t, "/bob-hook", 3)
	firstNtfy := rc.waitFor(t, "/bob-ntfy", 1)[0]
	t.Logf("call -> first push at the receiver: webhook %v (refused), ntfy %v; delivered after 2 retries at %v",
		hooks[0].arrived.Sub(start).Round(time.Microsecond), firstNtfy.arrived.Sub(start).Round(time.Microsecond),
		hooks[2].arrived.Sub(start).Round(time.Millisecond))
	checkPushSignatures(t, hooks[:3])
	checkWebhookPayload(t, hooks[2].body, call, &vivo)
	checkNtfyPush(t, firstNtfy, call.CallID)
	if len(rc.requests("/bob-ntfy")) != 1 {
		t.Errorf("ntfy got %d requests, want 1 (it answered 200)", len(rc.requests("/bob-ntfy")))
	}
	// The operator webhook hangs: tried 1 + 3 times, each cut at 300 ms;
	// meanwhile the call rings on and alice can cancel it.
	rc.waitFor(t, "/operator", 2)
	if st := alice.Status(); st != engine.StatusWaiting {
		t.Errorf("alice's status %v while the pushes are retried, want waiting", st)
	}
	if err := alice.Hangup(ctx); err != nil {
		t.Fatal(err)
	}

	// A call with isDisablePush, and one while bob is online: no push.
	before := len(rc.requests("/bob-ntfy"))
	if _, err := alice.Call(ctx, "bob", engine.MediaTypeAudio, engine.CallParams{OfflinePushInfo: &protocol.OfflinePushInfo{IsDisablePush: true}}); err != nil {
		t.Fatal(err)
	}
	alice.Hangup(ctx) //nolint:errcheck
	bob2 := pushLogin(t, s, "bob")
	defer bob2.Destroy()
	if _, err := alice.Call(ctx, "bob", engine.MediaTypeAudio, engine.CallParams{}); err != nil {
		t.Fatal(err)
	}
	alice.Hangup(ctx)                  //nolint:errcheck
	time.Sleep(300 * time.Millisecond) // what would have been pushed has had time to arrive
	if n := len(rc.requests("/bob-ntfy")); n != before {
		t.Errorf("ntfy got %d more pushes for a disabled push and an online callee, want 0", n-before)
	}
	left, err := bob2.UnregisterPush(ctx, rc.srv.URL+"/bob-hook")
	if err != nil || len(left) != 1 || left[0].Kind != engine.PushNtfy {
		t.Errorf("UnregisterPush: %v %v", left, err)
	}
	if left, err := bob2.PushEndpoints(ctx); err != nil || len(left) != 1 {
		t.Errorf("PushEndpoints: %v %v", left, err)
	}
}

// TestPushDefaults: without offlinePushInfo the reference's defaults and
// termcall's title and body are sent; private addresses are refused.
func TestPushDefaults(t *testing.T) {
	rc := newReceiver(t)
	s := startFzServerWith(t, func(c *server.Config) {
		c.NoMedia = true
		c.Push = server.PushConfig{Webhook: rc.srv.URL + "/op", Queue: 10, AllowPrivate: true}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pushLogin(t, s, "carol").Destroy()
	alice := pushLogin(t, s, "alice")
	defer alice.Destroy()
	if err := alice.SetSelfInfo(ctx, "Alice A.", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Call(ctx, "carol", engine.MediaTypeAudio, engine.CallParams{}); err != nil {
		t.Fatal(err)
	}
	var p server.PushPayload
	if err := json.Unmarshal(rc.waitFor(t, "/op", 1)[0].body, &p); err != nil {
		t.Fatal(err)
	}
	one := 1
	want := protocol.OfflinePushInfo{Title: "Alice A. is calling", Desc: "Incoming audio call from Alice A.",
		Description: "Incoming audio call from Alice A.", AndroidVIVOClassification: &one}
	if diff := cmp.Diff(want, p.Info); diff != "" || p.CallerNickname != "Alice A." {
		t.Errorf("default push info (-want +got):\n%s\ncallerNickname %q", diff, p.CallerNickname)
	}
	if h := rc.waitFor(t, "/op", 1)[0].header; h.Get("X-Termcall-Signature") != "" {
		t.Errorf("unsigned push carries a signature: %v", h)
	}
	alice.Hangup(ctx) //nolint:errcheck

	// Without push_allow_private, loopback endpoints are refused at
	// registration (a literal address) and at delivery (a name).
	s2 := startFzServerWith(t, func(c *server.Config) {
		c.NoMedia = true
		c.Push = server.PushConfig{Queue: 10}
	})
	dave := pushLogin(t, s2, "dave")
	defer dave.Destroy()
	if _, err := dave.RegisterPush(ctx, rc.srv.URL+"/dave", ""); codeOf(err) != protocol.CodeInvalidPushEndpoint {
		t.Errorf("registering a loopback endpoint: %v, want 3015", err)
	}
}
