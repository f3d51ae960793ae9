package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/server"
)

const chromiumPath = "/usr/bin/chromium"

// needBrowser skips the test under -short or without chromium.
func needBrowser(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a browser")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("no %s (scripts/setup.sh installs it with the test packages)", chromiumPath)
	}
}

// browser is one headless chromium tab on the call page.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser starts chromium (fake microphone and camera, no permission
// prompts; extra options after these) and opens url. The browser goes at the test's end.
func newBrowser(t *testing.T, deadline time.Duration, url string, extra ...chromedp.ExecAllocatorOption) *browser {
	t.Helper()
	needBrowser(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		// chromium's host candidates stay mDNS names (as in real browsers):
		// the SFU learns the browser's address from its checks.
	}
	opts = append(opts, extra...) // later flags of the same name win
	parent, cancelTimeout := context.WithTimeout(context.Background(), deadline)
	actx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
	})
	b := &browser{t: t, ctx: bctx}
	if _, err := chromedp.Run(bctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return b
}

// tab opens url in another tab of the same browser.
func (b *browser) tab(url string) *browser {
	b.t.Helper()
	tctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	nb := &browser{t: b.t, ctx: tctx}
	if _, err := chromedp.Run(tctx, chromedp.Navigate(url)); err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
	return nb
}

// eval runs JavaScript (awaiting a promise) and decodes its JSON value into out.
func (b *browser) eval(js string, out any) error {
	raw, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

func (b *browser) must(js string) {
	b.t.Helper()
	var res any
	if err := b.eval("Promise.resolve("+js+").then(() => true)", &res); err != nil {
		b.t.Fatalf("browser: %s: %v", js, err)
	}
}

// waitJS polls a JavaScript expression until it is true.
func (b *browser) waitJS(what, js string, d time.Duration) {
	b.t.Helper()
	testutil.WithTimeout(b.t, func() string {
		var ok bool
		err := b.eval("!!("+js+")", &ok)
		if err == nil && ok {
			return ""
		}
		var pageErr string
		_ = b.eval("window.termcall ? window.termcall.error : 'no page'", &pageErr)
		return fmt.Sprintf("browser: %s (err %v; page error %q; events %s)", what, err, pageErr, b.eventNames())
	}, d)
}

// webEvent is one TUICallEvent the page recorded.
type webEvent struct {
	Event   string         `json:"event"`
	Payload map[string]any `json:"payload"`
}

func (b *browser) events() []webEvent {
	b.t.Helper()
	var raw string
	if err := b.eval("JSON.stringify(window.termcall.events.filter(e => e.event !== 'USER_VOICE_VOLUME'))", &raw); err != nil {
		b.t.Fatalf("browser events: %v", err)
	}
	var evs []webEvent
	if err := json.Unmarshal([]byte(raw), &evs); err != nil {
		b.t.Fatalf("browser events: %v", err)
	}
	return evs
}

func (b *browser) eventNames() string {
	var raw string
	_ = b.eval("JSON.stringify(window.termcall.events.map(e => e.event).filter(e => e !== 'USER_VOICE_VOLUME'))", &raw)
	return raw
}

// clearEvents forgets what the page recorded so far.
func (b *browser) clearEvents() { b.must("window.termcall.events.length = 0") }

// waitEvent waits for the page to have recorded the event and returns its payload.
func (b *browser) waitEvent(name string, d time.Duration) map[string]any {
	b.t.Helper()
	b.waitJS("event "+name, fmt.Sprintf("window.termcall.events.some(e => e.event === %q)", name), d)
	for _, e := range b.events() {
		if e.Event == name {
			return e.Payload
		}
	}
	return nil
}

// inboundAudio is the packets received on the call's inbound audio streams.
const inboundAudioJS = `(async () => {
  const pc = window.termcall.engine.getPeerConnection();
  if (!pc) return 0;
  let n = 0;
  (await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') n += r.packetsReceived || 0; });
  return n;
})()`

// audioEnergyJS is the energy of the audio the browser decoded (bob's tone).
const audioEnergyJS = `(async () => {
  const pc = window.termcall.engine.getPeerConnection();
  let e = 0;
  (await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') e += r.totalAudioEnergy || 0; });
  return e;
})()`

func (b *browser) inboundAudio() int {
	b.t.Helper()
	var n float64
	if err := b.eval(inboundAudioJS, &n); err != nil {
		b.t.Fatalf("browser stats: %v", err)
	}
	return int(n)
}

// waitAudio waits until the browser received more than n audio packets.
func (b *browser) waitAudio(n int, d time.Duration) int {
	b.t.Helper()
	var got int
	testutil.WithTimeout(b.t, func() string {
		if got = b.inboundAudio(); got > n {
			return ""
		}
		return fmt.Sprintf("browser received %d audio packets; want > %d", got, n)
	}, d)
	return got
}

// waitCount waits until bob's ear counted more than n packets from user.
func waitCount(t *testing.T, r *ear, user string, n int, d time.Duration) int {
	t.Helper()
	var got int
	testutil.WithTimeout(t, func() string {
		if got = r.count(user); got > n {
			return ""
		}
		return fmt.Sprintf("got %d RTP packets from %s; want > %d", got, user, n)
	}, d)
	return got
}

// TestBrowserCalls: the web page (the SDK over RTCPeerConnection in
// chromium) logged in as alice through the development login calls bob, a
// termcall engine with a tone, and the other way round; audio flows both
// ways through the SFU. Then the Web payloads of a reject and a cancel.
func TestBrowserCalls(t *testing.T) {
	needBrowser(t)
	e := newEnv(t, func(c *server.Config) { c.DevLogin = true })
	b := newBrowser(t, 55*time.Second, e.url+"/?user=alice")
	b.waitJS("logged in", "window.termcall && window.termcall.loggedIn", 10*time.Second)
	if got := b.waitEvent("SDK_READY", time.Second); got != nil {
		t.Errorf("SDK_READY payload %v, want none", got)
	}
	bob := e.login("bob")
	bobEar := bob.withTone(t, 660)

	browserCallsBob(t, b, bob, bobEar)
	bobCallsBrowser(t, b, bob, bobEar)
	browserRejects(t, b, bob)
	bobCancels(t, b, bob)
}

// browserCallsBob is TestBrowserCalls' step 1: the browser calls bob, who answers; alice hangs up.
func browserCallsBob(t *testing.T, b *browser, bob *client, bobEar *ear) {
	t.Helper()
	// 1. The browser calls bob; bob answers.
	var callID string
	if err := b.eval(`window.termcall.engine.calls({userIDList: ['bob'], type: 1}).then(r => r.callId)`, &callID); err != nil {
		t.Fatalf("browser calls: %v", err)
	}
	got := bob.rec.take(1, wait)
	if len(got) != 1 {
		t.Fatal("bob: no invitation")
	}
	rcv, ok := got[0].(engine.CallReceived)
	if !ok || rcv.CallID != callID || rcv.CallerID != "alice" {
		t.Fatalf("bob: got %s %+v, want the invitation of %s from alice", got[0].Name(), got[0], callID)
	}
	bob.must("Accept", bob.Accept(ctx(t)))
	accepted := time.Now()
	info := engine.CallInfo{CallID: callID, RoomID: rcv.RoomID, MediaType: engine.MediaTypeAudio}
	bob.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: callID, UserID: "alice"})
	beginPayload := b.waitEvent("ON_CALL_BEGIN", wait)
	room := float64(rcv.RoomID.IntRoomID)
	if diff := cmp.Diff(map[string]any{"callId": callID, "roomID": room, "callMediaType": 1.0, "callRole": "inviter"}, beginPayload); diff != "" {
		t.Errorf("ON_CALL_BEGIN payload (-want +got):\n%s", diff)
	}
	start := time.Now()
	n := b.waitAudio(50, 10*time.Second)
	m := waitCount(t, bobEar, "alice", 50, 10*time.Second)
	var energy float64
	if err := b.eval(audioEnergyJS, &energy); err != nil || energy <= 0 {
		t.Errorf("the browser decoded silence from bob (total audio energy %g, %v)", energy, err)
	}
	if p := audiotest.Power(bobEar.heard()); p <= 0 {
		t.Errorf("bob heard silence from the browser (power %g)", p)
	}
	t.Logf("browser calls bob: %d audio packets at the browser, %d from alice at bob, %v after the answer; bob's answer -> his first packet from the page %v",
		n, m, time.Since(start).Round(time.Millisecond), bobEar.firstPacket("alice", 0).Sub(accepted).Round(100*time.Microsecond))
	var audioEls int
	if err := b.eval(`document.querySelectorAll('audio[data-termcall-user="bob"]').length`, &audioEls); err != nil || audioEls != 1 {
		t.Errorf("bob's audio element: %d (%v), want 1", audioEls, err)
	}

	// alice hangs up: CALLING_END for her, onCallEnd for bob.
	b.must(`window.termcall.engine.hangup()`)
	endPayload := b.waitEvent("CALLING_END", wait)
	wantEnd := map[string]any{"callId": callID, "roomID": room, "callMediaType": 1.0, "callRole": "inviter",
		"userID": "alice", "reason": "hangup", "totalTime": endPayload["totalTime"], "callEnd": endPayload["totalTime"]}
	if diff := cmp.Diff(wantEnd, endPayload); diff != "" {
		t.Errorf("CALLING_END payload (-want +got):\n%s", diff)
	}
	bob.expect(engine.UserLeave{CallID: callID, UserID: "alice"}, end(info, engine.RoleCalled, "alice", engine.ReasonHangup))
}

// bobCallsBrowser is TestBrowserCalls' step 2: bob calls the browser, which answers by itself and mutes.
func bobCallsBrowser(t *testing.T, b *browser, bob *client, bobEar *ear) {
	t.Helper()
	// 2. bob calls the browser; the page answers by itself.
	b.clearEvents()
	b.must(`window.termcall.autoAccept = true`)
	bobEar.forget("alice")
	info2 := bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(begin(info2, engine.RoleCaller), engine.UserJoin{CallID: info2.CallID, UserID: "alice"})
	begun := time.Now()
	recv := b.waitEvent("ON_CALL_RECEIVED", wait)
	wantRecv := map[string]any{"sponsor": "bob", "userIDList": []any{}, "isFromGroup": false, "groupID": "",
		"inviteData": map[string]any{"callType": 1.0, "roomID": float64(info2.RoomID.IntRoomID)},
		"inviteID":   info2.CallID + ":alice", "userData": "", "callId": info2.CallID, "roomID": float64(info2.RoomID.IntRoomID),
		"callMediaType": 1.0, "callRole": "invitee"}
	if diff := cmp.Diff(wantRecv, recv); diff != "" {
		t.Errorf("ON_CALL_RECEIVED payload (-want +got):\n%s", diff)
	}
	if p := b.waitEvent("ON_CALL_BEGIN", wait); p["callRole"] != "invitee" || p["callId"] != info2.CallID {
		t.Errorf("ON_CALL_BEGIN payload %v, want callRole invitee of %s", p, info2.CallID)
	}
	before := bobEar.count("alice")
	start := time.Now()
	n := b.waitAudio(50, 10*time.Second)
	m := waitCount(t, bobEar, "alice", before+50, 10*time.Second) - before
	t.Logf("bob calls the browser: %d audio packets at the browser, %d from alice at bob, %v after the answer; bob's CallBegin -> his first packet from the page %v",
		n, m, time.Since(start).Round(time.Millisecond), bobEar.firstPacket("alice", 0).Sub(begun).Round(100*time.Microsecond))

	// Mute in the browser: bob learns alice's audio is off.
	bob.rec.mu.Lock()
	bob.rec.media = true
	bob.rec.mu.Unlock()
	b.must(`window.termcall.engine.closeMicrophone()`)
	waitFor(t, bob, func(ev engine.Event) bool {
		a, ok := ev.(engine.UserAudioAvailable)
		return ok && a.UserID == "alice" && !a.IsAudioAvailable
	})
	bob.rec.mu.Lock()
	bob.rec.media = false
	bob.rec.mu.Unlock()

	bob.must("Hangup", bob.Hangup(ctx(t)))
	if p := b.waitEvent("CALLING_END", wait); p["userID"] != "bob" || p["callRole"] != "invitee" || p["reason"] != "hangup" {
		t.Errorf("CALLING_END payload %v, want userID bob, callRole invitee, reason hangup", p)
	}
	drain(bob)
}

// browserRejects is TestBrowserCalls' step 3: the browser rejects bob's call.
func browserRejects(t *testing.T, b *browser, bob *client) {
	t.Helper()
	// 3. The browser rejects: ON_CALL_CANCELED carries the callee's own ID.
	b.clearEvents()
	b.must(`window.termcall.autoAccept = false`)
	info3 := bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	b.waitEvent("ON_CALL_RECEIVED", wait)
	b.must(`window.termcall.engine.reject()`)
	canceled := b.waitEvent("ON_CALL_CANCELED", wait)
	wantCanceled := map[string]any{"userID": "alice", "callId": info3.CallID, "roomID": float64(info3.RoomID.IntRoomID),
		"callMediaType": 1.0, "callRole": "invitee", "reason": "reject"}
	if diff := cmp.Diff(wantCanceled, canceled); diff != "" {
		t.Errorf("ON_CALL_CANCELED after a reject (-want +got):\n%s", diff)
	}
	bob.expect(engine.UserReject{CallID: info3.CallID, UserID: "alice"}, cancelled(info3, "bob", engine.ReasonReject))
}

// bobCancels is TestBrowserCalls' step 4: bob cancels while the page rings.
func bobCancels(t *testing.T, b *browser, bob *client) {
	t.Helper()
	// 4. bob cancels while the page rings: Web rule, the callee's own ID (native: the caller's).
	b.clearEvents()
	info4 := bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	b.waitEvent("ON_CALL_RECEIVED", wait)
	bob.must("Hangup", bob.Hangup(ctx(t)))
	canceled := b.waitEvent("ON_CALL_CANCELED", wait)
	wantCanceled := map[string]any{"userID": "alice", "callId": info4.CallID, "roomID": float64(info4.RoomID.IntRoomID),
		"callMediaType": 1.0, "callRole": "invitee", "reason": "canceled"}
	if diff := cmp.Diff(wantCanceled, canceled); diff != "" {
		t.Errorf("ON_CALL_CANCELED after the caller cancels (-want +got):\n%s", diff)
	}
	var names []string
	for _, ev := range b.events() {
		names = append(names, ev.Event)
	}
	if diff := cmp.Diff([]string{"ON_CALL_RECEIVED", "INVITED", "ON_CALL_CANCELED", "CALLING_CANCEL"}, names); diff != "" {
		t.Errorf("page events (-want +got):\n%s", diff)
	}
}

// waitFor reads the client's events until one matches.
func waitFor(t *testing.T, c *client, match func(engine.Event) bool) {
	t.Helper()
	testutil.WithTimeout(t, func() string {
		for _, ev := range c.rec.take(1, 200*time.Millisecond) {
			if match(ev) {
				return ""
			}
		}
		return c.id + ": the awaited event did not come"
	}, wait)
}

// drain forgets the client's pending events.
func drain(c *client) {
	for len(c.rec.take(1, 300*time.Millisecond)) > 0 {
	}
}

// TestDevLoginRoute: POST /v1/dev/usersig exists only with DevLogin, and
// the page and SDK are served.
func TestDevLoginRoute(t *testing.T) {
	t.Parallel()
	off := newEnv(t)
	on := newEnv(t, func(c *server.Config) { c.DevLogin = true })
	post := func(e *env, body string) (int, map[string]any) {
		resp, err := http.Post(e.url+"/v1/dev/usersig", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := post(off, `{"userId":"alice"}`); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Errorf("without DevLogin: status %d, want 404/405", code)
	}
	code, out := post(on, `{"userId":"alice"}`)
	if code != 200 || out["userSig"] == "" || out["sdkAppId"] != float64(appID) {
		t.Fatalf("dev login: %d %v", code, out)
	}
	c := on.newClient("alice")
	if err := c.Init(ctx(t), appID, "alice", out["userSig"].(string)); err != nil {
		t.Errorf("login with the development userSig: %v", err)
	}
	if code, _ := post(on, `{"userId":"bad id!"}`); code != http.StatusBadRequest {
		t.Errorf("bad user ID: status %d, want 400", code)
	}
	for path, want := range map[string]string{"/": "<title>termcall</title>", "/sdk/tuicall-engine.js": "export class TUICallEngine", "/app.js": "tuicall-kit.js",
		"/sdk/tuicall-kit.js": "customElements.define('tuicall-kit'", "/sdk/tuicall-kit.css": ".kit"} {
		resp, err := http.Get(off.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, want 200 with %q", path, resp.StatusCode, want)
		}
	}
}

// TestBrowserVideo: two pages in one browser; alice starts a video call
// from the page's form, carol's page answers by itself, and each page shows
// the other's (fake camera) video.
func TestBrowserVideo(t *testing.T) {
	needBrowser(t)
	e := newEnv(t, func(c *server.Config) { c.DevLogin = true })
	e.users("alice", "carol")
	alice := newBrowser(t, 40*time.Second, e.url+"/?user=alice")
	carol := alice.tab(e.url + "/?user=carol&autoAccept=1")
	for _, b := range []*browser{alice, carol} {
		b.waitJS("logged in", "window.termcall && window.termcall.loggedIn", 10*time.Second)
	}
	alice.must(`(document.getElementById('callees').value = 'carol', document.getElementById('video-call-btn').click())`)
	for _, b := range []*browser{alice, carol} {
		if p := b.waitEvent("ON_CALL_BEGIN", wait); p["callMediaType"] != 2.0 {
			t.Errorf("ON_CALL_BEGIN %v, want callMediaType 2", p)
		}
	}
	for _, v := range []struct {
		b    *browser
		peer string
	}{{alice, "carol"}, {carol, "alice"}} {
		v.b.waitJS(v.peer+"'s video on the page", fmt.Sprintf(
			`(() => { const el = window.termcall.kit$('#remote-%s video'); return el && el.videoWidth > 0 && el.currentTime > 0.5; })()`, v.peer), 15*time.Second)
		var frames float64
		if err := v.b.eval(`(async () => { let n = 0; (await window.termcall.engine.getPeerConnection().getStats()).forEach(r => {
			if (r.type === 'inbound-rtp' && r.kind === 'video') n += r.framesDecoded || 0; }); return n; })()`, &frames); err != nil {
			t.Fatal(err)
		}
		var w float64
		_ = v.b.eval(fmt.Sprintf(`window.termcall.kit$('#remote-%s video').videoWidth`, v.peer), &w)
		t.Logf("%s's page: %s's video %g px wide, %g frames decoded", map[*browser]string{alice: "alice", carol: "carol"}[v.b], v.peer, w, frames)
	}
	alice.must(`window.termcall.kit$('#hangup').click()`)
	carol.waitEvent("CALLING_END", wait)
}

// TestBrowserDevLoginButton: the page shows its development login button
// only when the server runs with --dev-login.
func TestBrowserDevLoginButton(t *testing.T) {
	t.Parallel()
	for _, dev := range []bool{false, true} {
		e := newEnv(t, func(c *server.Config) { c.DevLogin = dev })
		b := newBrowser(t, wait, e.url+"/")
		b.waitJS("the page asked the server", `performance.getEntriesByType('resource').some((r) => r.name.endsWith('/v1/dev/login'))`, wait)
		b.waitJS(fmt.Sprintf("the button's state with DevLogin %v", dev),
			fmt.Sprintf(`document.getElementById('dev-login-btn').hidden === %v`, !dev), wait)
		time.Sleep(200 * time.Millisecond) // nothing flips it afterwards
		var hidden bool
		if err := b.eval(`document.getElementById('dev-login-btn').hidden`, &hidden); err != nil || hidden == dev {
			t.Errorf("DevLogin %v: the development login button hidden=%v (%v)", dev, hidden, err)
		}
	}
}
