package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callvideo"
	"github.com/termcall/termcall/server"
)

// kitJS is a JavaScript expression for an element of the Kit's shadow DOM.
func kitJS(sel string) string { return fmt.Sprintf("window.termcall.kit$(%q)", sel) }

// kitText is the text of an element of the Kit.
func (b *browser) kitText(sel string) string {
	b.t.Helper()
	var s string
	if err := b.eval(kitJS(sel)+".textContent", &s); err != nil {
		b.t.Fatalf("kit %s: %v", sel, err)
	}
	return s
}

// kitShown reports whether an element of the Kit is displayed.
func (b *browser) kitShown(sel string) bool {
	b.t.Helper()
	var on bool
	if err := b.eval(fmt.Sprintf(`(() => { const el = %s; return !!el && el.getClientRects().length > 0; })()`, kitJS(sel)), &on); err != nil {
		b.t.Fatalf("kit %s: %v", sel, err)
	}
	return on
}

// kitClick clicks an element of the Kit with a real (DevTools) mouse click.
func (b *browser) kitClick(sel string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Click(chromedp.JSPath(kitJS(sel)))); err != nil {
		b.t.Fatalf("click %s in the Kit: %v", sel, err)
	}
}

// statuses is the Kit's statusChanged history as "old>new".
func (b *browser) statuses() []string {
	b.t.Helper()
	var out []string
	if err := b.eval(`window.termcall.statuses.map(s => s.oldStatus + '>' + s.newStatus)`, &out); err != nil {
		b.t.Fatal(err)
	}
	return out
}

// tileVideoJS: the tile's <video> shows a picture and plays.
const tileVideoJS = `(() => { const v = window.termcall.kit$('%s video'); return !!v && v.videoWidth > 0 && v.currentTime > 0.3 && !window.termcall.kit$('%s').classList.contains('no-video'); })()`

// kitTest is TestBrowserKit's page (alice) and bob.
type kitTest struct {
	t   *testing.T
	b   *browser
	bob *client
}

// TestBrowserKit drives the <tuicall-kit> of the page through the Kit API
// and its buttons against a terminal bot: a video call with its statuses,
// layout mode, display mode, hidden buttons, language, floating window,
// tile backgrounds and the mute button; the camera default state; incoming
// calls full screen and as a banner; mute mode and a custom bell; the
// no-answer message.
func TestBrowserKit(t *testing.T) {
	needBrowser(t)
	e := newEnv(t, func(c *server.Config) { c.DevLogin = true })
	e.users("alice", "bob", "carol")
	b := newBrowser(t, 150*time.Second, e.url+"/?user=alice&lang=en")
	b.waitJS("logged in", "window.termcall && window.termcall.loggedIn", 10*time.Second)
	bob := e.login("bob")
	w := &kitTest{t: t, b: b, bob: bob}
	bob.withTone(t, 440)
	bob.withVideo(t, callvideo.Options{Camera: "pattern:320x240"})
	bob.must("OpenCamera", bob.OpenCamera(ctx(t), engine.CameraFront))
	if b.kitShown("#kit") {
		t.Errorf("the Kit shows while idle")
	}

	w.videoCall()
	w.layoutMode()
	w.displayMode()
	w.hiddenButtons()
	w.language()
	w.floatWindow()
	w.tileBackgrounds()
	w.effects()
	w.muteButton()
	w.cameraDefaultOff()
	w.incomingFullScreen()
	w.incomingBanner()
	w.muteModeAndBell()
	w.noAnswer()
}

// videoCall places a video call through the Kit API that bob answers (TestBrowserKit).
func (w *kitTest) videoCall() {
	t, b := w.t, w.b
	bob := w.bob
	t.Helper()
	// 1. A video call through the Kit API; bob answers.
	b.must(`window.termcall.server.calls({userIDList: ['bob'], type: 2})`)
	b.waitJS("dialing screen", `window.termcall.status === 'dialing-c2c' && window.termcall.kit$('#remote-bob .state').textContent === 'ringing…'`, wait)
	if s := b.kitText("#status"); s != "Waiting for bob to answer…" {
		t.Errorf("dialing status %q", s)
	}
	waitClient(t, bob, func(r engine.CallReceived) bool { return r.CallerID == "alice" })
	bob.must("Accept", bob.Accept(ctx(t)))
	b.waitJS("connected", `window.termcall.status === 'calling-c2c-video'`, wait)
	b.waitJS("bob's video in the Kit", fmt.Sprintf(tileVideoJS, "#remote-bob", "#remote-bob"), 15*time.Second)
	b.waitJS("own preview in the Kit", fmt.Sprintf(tileVideoJS, "#local", "#local"), 10*time.Second)
	if diff := cmp.Diff([]string{"idle>dialing-c2c", "dialing-c2c>calling-c2c-video"}, b.statuses()); diff != "" {
		t.Errorf("statusChanged (-want +got):\n%s", diff)
	}

	if diff := cmp.Diff(`[{"name":"beforeCalling","args":["dialing-c2c",null]}]`, b.callbacks()); diff != "" {
		t.Errorf("Kit callbacks (-want +got):\n%s", diff)
	}
}

// layoutMode checks the layout mode (TestBrowserKit).
func (w *kitTest) layoutMode() {
	t, b := w.t, w.b
	t.Helper()
	// Layout mode: remote in the large view by default; the other way; a
	// click on the small view swaps back.
	large := func() string {
		var id string
		_ = b.eval(`window.termcall.kit$('.tile.large').id`, &id)
		return id
	}
	if got := large(); got != "remote-bob" {
		t.Errorf("large view %q, want remote-bob (RemoteInLargeView, the default)", got)
	}
	b.must(`window.termcall.server.setLayoutMode('local')`)
	if got := large(); got != "local" {
		t.Errorf("after setLayoutMode(LocalInLargeView) the large view is %q, want local", got)
	}
	b.kitClick("#remote-bob")
	if got := large(); got != "remote-bob" {
		t.Errorf("after a click on the small view the large view is %q, want remote-bob", got)
	}
	if code := b.sdkError(`window.termcall.server.setLayoutMode('sideways')`); code != 1004 {
		t.Errorf("setLayoutMode('sideways'): code %v, want 1004", code)
	}
}

// displayMode checks video-display-mode (TestBrowserKit).
func (w *kitTest) displayMode() {
	t, b := w.t, w.b
	t.Helper()
	// video-display-mode.
	b.must(`window.termcall.kit.setAttribute('video-display-mode', 'contain')`)
	var fit string
	_ = b.eval(kitJS("#remote-bob video")+".style.objectFit", &fit)
	if fit != "contain" {
		t.Errorf("video-display-mode contain: object-fit %q", fit)
	}
	b.must(`window.termcall.kit.removeAttribute('video-display-mode')`)
}

// hiddenButtons checks the feature buttons and hiding them (TestBrowserKit).
func (w *kitTest) hiddenButtons() {
	t, b := w.t, w.b
	t.Helper()
	// Hidden feature buttons.
	for _, id := range []string{"#mic", "#camera", "#switch", "#hangup", "#speaker"} {
		if !b.kitShown(id) {
			t.Errorf("button %s not shown in a video call", id)
		}
	}
	b.kitClick("#switch") // one fake camera here
	b.waitJS("no other camera message", `window.termcall.noticeKey === 'msg.nocamera2' && window.termcall.kit$('#notice').textContent === 'There is no other camera.'`, wait)
	b.must(`window.termcall.server.hideFeatureButton('Camera')`)
	b.must(`window.termcall.server.hideFeatureButton('SwitchCamera')`)
	if b.kitShown("#camera") || b.kitShown("#switch") || !b.kitShown("#mic") {
		t.Errorf("after hideFeatureButton(Camera, SwitchCamera): camera %v, switch %v, microphone %v; want only the microphone", b.kitShown("#camera"), b.kitShown("#switch"), b.kitShown("#mic"))
	}
	if code := b.sdkError(`window.termcall.server.hideFeatureButton('Teleport')`); code != 1004 {
		t.Errorf("hideFeatureButton('Teleport'): code %v, want 1004", code)
	}
}

// language checks setLanguage (TestBrowserKit).
func (w *kitTest) language() {
	t, b := w.t, w.b
	t.Helper()
	// Language.
	for _, l := range []struct{ lang, hangup, mute string }{{"zh-cn", "挂断", "静音"}, {"ja_JP", "切断", "ミュート"}, {"en", "Hang up", "Mute"}} {
		b.must(fmt.Sprintf(`window.termcall.server.setLanguage(%q)`, l.lang))
		if h, m := b.kitText("#hangup"), b.kitText("#mic"); h != l.hangup || m != l.mute {
			t.Errorf("setLanguage(%s): hang up %q, mute %q; want %q, %q", l.lang, h, m, l.hangup, l.mute)
		}
	}
	if code := b.sdkError(`window.termcall.server.setLanguage('fr')`); code != 1004 {
		t.Errorf("setLanguage('fr'): code %v, want 1004", code)
	}
}

// floatWindow checks the floating window (TestBrowserKit).
func (w *kitTest) floatWindow() {
	t, b := w.t, w.b
	t.Helper()
	// The floating window: the button follows enableFloatWindow (and the
	// allowed-minimized prop); minimise and restore.
	if !b.kitShown("#minimize") {
		t.Errorf("minimise button hidden with allowed-minimized")
	}
	b.must(`(window.termcall.kit.removeAttribute('allowed-minimized'), window.termcall.server.enableFloatWindow(false))`)
	if b.kitShown("#minimize") {
		t.Errorf("minimise button shown with enableFloatWindow(false)")
	}
	b.must(`window.termcall.server.enableFloatWindow(true)`)
	b.must(`window.termcall.callbacks.length = 0`)
	b.kitClick("#minimize")
	b.waitJS("floating window", `window.termcall.server.minimized && window.termcall.kit$('#mini video').videoWidth > 0`, wait)
	if b.kitShown("#call") || !b.kitShown("#mini") {
		t.Errorf("minimised: call screen %v, mini window %v", b.kitShown("#call"), b.kitShown("#mini"))
	}
	if diff := cmp.Diff(`[{"name":"onMinimized","args":[false,true]}]`, b.callbacks()); diff != "" {
		t.Errorf("Kit callbacks after minimising (-want +got):\n%s", diff)
	}
	b.kitClick("#mini")
	b.waitJS("restored", `!window.termcall.server.minimized && window.termcall.kit$('#call').getClientRects().length > 0`, wait)
	b.must(`window.termcall.callbacks.length = 0`)
}

// tileBackgrounds checks the tile backgrounds (TestBrowserKit).
func (w *kitTest) tileBackgrounds() {
	t, b := w.t, w.b
	t.Helper()
	// Tile backgrounds.
	const png = `data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==`
	b.must(fmt.Sprintf(`window.termcall.server.setRemoteViewBackgroundImage('*', %q)`, png))
	b.must(fmt.Sprintf(`window.termcall.server.setLocalViewBackgroundImage(%q)`, png))
	for _, id := range []string{"#remote-bob", "#local"} {
		var bg string
		_ = b.eval(fmt.Sprintf(`getComputedStyle(%s).backgroundImage`, kitJS(id)), &bg)
		if !strings.Contains(bg, "data:image/png") {
			t.Errorf("%s background %q, want the image set", id, bg)
		}
	}
}

// effects checks the blur button and AI voice (TestBrowserKit).
func (w *kitTest) effects() {
	t, b := w.t, w.b
	t.Helper()
	// The blur button (enableVirtualBackground) and AI voice: with the
	// effects' files the engine runs them; without, the Kit says so.
	if b.kitShown("#blur") {
		t.Errorf("blur button shown before enableVirtualBackground(true)")
	}
	b.must(`window.termcall.server.enableVirtualBackground(true)`)
	if !b.kitShown("#blur") {
		t.Fatalf("no blur button after enableVirtualBackground(true)")
	}
	b.kitClick("#blur")
	_, vendorErr := os.Stat(filepath.Join(vendorDir, "selfie_segmentation/selfie_segmentation.js"))
	if vendorErr == nil {
		b.waitJS("blur on", `window.termcall.engine.getVideoEffects().blur === 2 && window.termcall.kit$('#blur').textContent === 'No blur'`, 60*time.Second)
		b.kitClick("#blur")
		b.waitJS("blur off", `window.termcall.engine.getVideoEffects().blur === 0`, wait)
	} else {
		b.waitJS("blur unavailable message", `window.termcall.noticeKey === 'msg.fxunavailable'`, wait)
	}
	if _, err := os.Stat(filepath.Join(vendorDir, "rnnoise/rnnoise-sync.js")); err == nil {
		b.must(`window.termcall.server.enableAIVoice(true)`)
		b.waitJS("AI voice on the microphone", `window.termcall.engine.getAIVoice().active`, wait)
		b.must(`window.termcall.server.enableAIVoice(false)`)
	} else if code := b.sdkError(`window.termcall.server.enableAIVoice(true)`); code != 5007 {
		t.Errorf("enableAIVoice without RNNoise: code %v, want 5007", code)
	}
}

// muteButton checks the mute button, then hangs up (TestBrowserKit).
func (w *kitTest) muteButton() {
	t, b := w.t, w.b
	bob := w.bob
	t.Helper()
	// The mute button: bob learns alice's microphone is off.
	bob.rec.mu.Lock()
	bob.rec.media = true
	bob.rec.mu.Unlock()
	b.kitClick("#mic")
	waitClient(t, bob, func(a engine.UserAudioAvailable) bool { return a.UserID == "alice" && !a.IsAudioAvailable })
	bob.rec.mu.Lock()
	bob.rec.media = false
	bob.rec.mu.Unlock()
	if s := b.kitText("#mic"); s != "Unmute" {
		t.Errorf("mute button after a click: %q, want Unmute", s)
	}
	b.kitClick("#hangup")
	b.waitJS("idle", `window.termcall.status === 'idle' && window.termcall.kit$('#kit').hidden`, wait)
	drain(bob)
	if diff := cmp.Diff(`[{"name":"afterCalling","args":[]}]`, b.callbacks()); diff != "" {
		t.Errorf("Kit callbacks after the hang-up (-want +got):\n%s", diff)
	}
}

// cameraDefaultOff checks setCameraDefaultState(false) (TestBrowserKit).
func (w *kitTest) cameraDefaultOff() {
	t, b := w.t, w.b
	bob := w.bob
	t.Helper()
	// 2. setCameraDefaultState(false): the video call starts with the camera off.
	b.must(`window.termcall.server.setCameraDefaultState(false)`)
	b.must(`window.termcall.server.calls({userIDList: ['bob'], type: 2})`)
	waitClient(t, bob, func(r engine.CallReceived) bool { return r.CallerID == "alice" })
	bob.must("Accept", bob.Accept(ctx(t)))
	b.waitJS("connected", `window.termcall.status === 'calling-c2c-video'`, wait)
	time.Sleep(time.Second)
	if n := b.number(`window.termcall.engine.getLocalStream().getVideoTracks().length`); n != 0 {
		t.Errorf("camera default off: %v local video tracks at call start", n)
	}
	if v := b.number(`(` + senderJSFor + `) ? 1 : 0`); v != 0 {
		t.Errorf("camera default off: the page sends video")
	}
	b.must(`window.termcall.server.setCameraDefaultState(true)`)
	b.kitClick("#hangup")
	b.waitJS("idle", `window.termcall.status === 'idle'`, wait)
	drain(bob)
}

// incomingFullScreen checks an incoming call full screen, declined (TestBrowserKit).
func (w *kitTest) incomingFullScreen() {
	t, b := w.t, w.b
	bob := w.bob
	t.Helper()
	// 3. Incoming, full screen: the ring plays; Decline.
	b.must(`window.termcall.statuses.length = 0`)
	info := bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	b.waitJS("incoming full screen", `window.termcall.status === 'be-invited' && window.termcall.kit$('#incoming').getClientRects().length > 0`, wait)
	if b.kitShown("#banner") || b.kitText("#incoming-caller") != "bob" || !strings.Contains(b.kitText("#incoming-text"), "audio call") {
		t.Errorf("incoming screen: banner %v, caller %q, text %q", b.kitShown("#banner"), b.kitText("#incoming-caller"), b.kitText("#incoming-text"))
	}
	b.waitJS("ringtone", `window.termcall.ringing`, time.Second)
	if !strings.Contains(b.callbacks(), `{"name":"beforeCalling","args":["be-invited",null]}`) {
		t.Errorf("Kit callbacks: %s, want beforeCalling(be-invited)", b.callbacks())
	}
	b.kitClick("#reject")
	bob.expect(engine.UserReject{CallID: info.CallID, UserID: "alice"}, cancelled(info, "bob", engine.ReasonReject))
	b.waitJS("idle, no ring", `window.termcall.status === 'idle' && !window.termcall.ringing`, wait)
}

// incomingBanner checks an incoming call as a banner, accepted (TestBrowserKit).
func (w *kitTest) incomingBanner() {
	t, b := w.t, w.b
	bob := w.bob
	t.Helper()
	// 4. Incoming as a banner; a click on it opens the full screen; Accept.
	b.must(`window.termcall.server.enableIncomingBanner(true)`)
	info := bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	b.waitJS("banner", `window.termcall.status === 'be-invited' && window.termcall.kit$('#banner').getClientRects().length > 0`, wait)
	if b.kitShown("#incoming") || !strings.Contains(b.kitText("#banner"), "bob") {
		t.Errorf("banner mode: full screen %v, banner %q", b.kitShown("#incoming"), b.kitText("#banner"))
	}
	b.kitClick("#banner-open")
	b.waitJS("full screen from the banner", `window.termcall.kit$('#incoming').getClientRects().length > 0 && window.termcall.kit$('#banner').hidden`, wait)
	b.kitClick("#accept")
	b.waitJS("connected", `window.termcall.status === 'calling-c2c-audio'`, wait)
	bob.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "alice"})
	if diff := cmp.Diff([]string{"idle>be-invited", "be-invited>idle", "idle>be-invited", "be-invited>calling-c2c-audio"}, b.statuses()); diff != "" {
		t.Errorf("statusChanged (-want +got):\n%s", diff)
	}
	bob.must("Hangup", bob.Hangup(ctx(t)))
	b.waitJS("idle", `window.termcall.status === 'idle'`, wait)
	b.must(`window.termcall.server.enableIncomingBanner(false)`)
	drain(bob)
}

// muteModeAndBell checks mute mode and a custom bell (TestBrowserKit).
func (w *kitTest) muteModeAndBell() {
	t, b := w.t, w.b
	bob := w.bob
	t.Helper()
	// 5. Mute mode: no ringtone; a custom bell plays instead of the default.
	b.must(`window.termcall.server.enableMuteMode(true)`)
	bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	b.waitJS("ringing silently", `window.termcall.status === 'be-invited'`, wait)
	time.Sleep(500 * time.Millisecond)
	if b.number(`+window.termcall.ringing`) != 0 {
		t.Errorf("mute mode: the ringtone plays")
	}
	b.must(`window.termcall.server.enableMuteMode(false)`)
	b.waitJS("ringtone after mute mode off", `window.termcall.ringing`, time.Second)
	bob.must("Hangup", bob.Hangup(ctx(t)))
	b.waitJS("idle", `window.termcall.status === 'idle' && !window.termcall.ringing`, wait)
	drain(bob)
	// A bell: one second of a 600 Hz WAV made in the page (a blob: URL).
	var bell string
	if err := b.eval(`(() => { const sr = 8000, n = sr; const buf = new ArrayBuffer(44 + n * 2), d = new DataView(buf);
		const w = (o, s) => [...s].forEach((c, i) => d.setUint8(o + i, c.charCodeAt(0)));
		w(0, 'RIFF'); d.setUint32(4, 36 + n * 2, true); w(8, 'WAVEfmt '); d.setUint32(16, 16, true); d.setUint16(20, 1, true); d.setUint16(22, 1, true);
		d.setUint32(24, sr, true); d.setUint32(28, sr * 2, true); d.setUint16(32, 2, true); d.setUint16(34, 16, true); w(36, 'data'); d.setUint32(40, n * 2, true);
		for (let i = 0; i < n; i++) d.setInt16(44 + i * 2, Math.round(8000 * Math.sin(2 * Math.PI * 600 * i / sr)), true);
		return URL.createObjectURL(new Blob([buf], {type: 'audio/wav'})); })()`, &bell); err != nil {
		t.Fatal(err)
	}
	b.must(fmt.Sprintf(`window.termcall.server.setCallingBell(%q)`, bell))
	bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	b.waitJS("custom bell plays", fmt.Sprintf(`(() => { const a = window.termcall.server.bell; return !!a && a.src === %q && !a.paused && a.currentTime > 0.2; })()`, bell), wait)
	bob.must("Hangup", bob.Hangup(ctx(t)))
	b.waitJS("bell stopped", `window.termcall.status === 'idle' && !window.termcall.server.bell`, wait)
	drain(bob)
	// '' restores the default ring.
	b.must(`window.termcall.server.setCallingBell('')`)
	bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	b.waitJS("the default ring again", `window.termcall.status === 'be-invited' && window.termcall.ringing && !window.termcall.server.bell`, wait)
	bob.must("Hangup", bob.Hangup(ctx(t)))
	b.waitJS("idle", `window.termcall.status === 'idle'`, wait)
	drain(bob)
}

// noAnswer checks the no-answer message and calling while logged out (TestBrowserKit).
func (w *kitTest) noAnswer() {
	t, b := w.t, w.b
	t.Helper()
	// 6. No answer: carol is known but not logged in; the invitation times out.
	b.must(`window.termcall.server.calls({userIDList: ['carol'], type: 1, timeout: 2})`)
	b.waitJS("no-answer message", `window.termcall.noticeKey === 'msg.noresp' && window.termcall.status === 'idle'`, 15*time.Second)
	if s := b.kitText("#notice"); s != "carol did not answer." || !b.kitShown("#notice") {
		t.Errorf("no-answer message %q (shown %v)", s, b.kitShown("#notice"))
	}
	// Calling while not logged in is a clear message too.
	b.must(`window.termcall.server.logout()`)
	if code := b.sdkError(`window.termcall.server.calls({userIDList: ['bob'], type: 1})`); code != 5001 {
		t.Errorf("calls after logout: code %v, want 5001", code)
	}
	if k := b.kitText("#notice"); !strings.Contains(k, "Not logged in") {
		t.Errorf("message after calls without login: %q", k)
	}
}

// senderJSFor: the page's video sender with a track, if any.
const senderJSFor = `window.termcall.engine.getPeerConnection() && window.termcall.engine.getPeerConnection().getSenders().find(s => s.track && s.track.kind === 'video')`

// TestBrowserKitGroup: a 4-person video group call: two pages (alice, carol)
// with the Kit and two terminal engines (bob, dave) with test-pattern
// cameras. alice's Kit calls the group; every tile of both Kits shows video.
func TestBrowserKitGroup(t *testing.T) {
	needBrowser(t)
	e := newEnv(t, func(c *server.Config) { c.DevLogin = true })
	e.group("team", "alice", "bob", "carol", "dave")
	alice := newBrowser(t, 90*time.Second, e.url+"/?user=alice&lang=en")
	carol := alice.tab(e.url + "/?user=carol&autoAccept=1&lang=en")
	for _, b := range []*browser{alice, carol} {
		b.waitJS("logged in", "window.termcall && window.termcall.loggedIn", 10*time.Second)
	}
	terms := []*client{e.login("bob"), e.login("dave")}
	for _, c := range terms {
		c.withTone(t, 440)
		c.withVideo(t, callvideo.Options{Camera: "pattern:320x240", ViewAll: true})
		c.must("OpenCamera", c.OpenCamera(ctx(t), engine.CameraFront))
	}
	alice.must(`window.termcall.server.calls({userIDList: ['bob', 'carol', 'dave'], type: 2, chatGroupID: 'team'})`)
	alice.waitJS("dialing the group", `window.termcall.status === 'dialing-group' && window.termcall.kit$('#stage').classList.contains('n4')`, wait)
	for _, c := range terms {
		waitClient(t, c, func(r engine.CallReceived) bool { return r.GroupID == "team" })
		c.must("Accept", c.Accept(ctx(t)))
	}
	for _, v := range []struct {
		b      *browser
		me     string
		others []string
	}{{alice, "alice", []string{"bob", "carol", "dave"}}, {carol, "carol", []string{"alice", "bob", "dave"}}} {
		v.b.waitJS(v.me+": group video status", `window.termcall.status === 'calling-group-video' && window.termcall.kit$('#stage').className.includes('group')`, wait)
		for _, o := range v.others {
			id := "#remote-" + o
			v.b.waitJS(v.me+": "+o+"'s tile shows video", fmt.Sprintf(tileVideoJS, id, id), 20*time.Second)
		}
		v.b.waitJS(v.me+": own tile shows video", fmt.Sprintf(tileVideoJS, "#local", "#local"), 10*time.Second)
		var tiles []string
		_ = v.b.eval(`[...window.termcall.kit$('#stage').querySelectorAll('.tile')].map(t => t.id + ':' + t.querySelector('video').videoWidth)`, &tiles)
		t.Logf("%s's Kit: tiles %v", v.me, tiles)
		if len(tiles) != 4 {
			t.Errorf("%s's Kit: %d tiles, want 4", v.me, len(tiles))
		}
	}
	alice.kitClick("#hangup")
	alice.waitJS("alice idle", `window.termcall.status === 'idle'`, wait)
	carol.kitClick("#hangup")
	carol.waitJS("carol idle", `window.termcall.status === 'idle'`, wait)
}

// checkKitLoginCallback checks the Kit's login with a callback: code 0
// with alice's sig, 2001 with a wrong one.
func checkKitLoginCallback(t *testing.T, b *browser, e *env) {
	t.Helper()
	var res map[string]any
	if err := b.eval(fmt.Sprintf(`new Promise((ok) => window.termcall.server.login({SDKAppID: %d, userID: 'alice', userSig: %q}, (r) => ok(r)))`, appID, e.sig("alice", time.Hour)), &res); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"code": 0.0, "msg": ""}, res); diff != "" {
		t.Errorf("login callback (-want +got):\n%s", diff)
	}
	if err := b.eval(fmt.Sprintf(`new Promise((ok) => window.termcall.server.login({SDKAppID: %d, userID: 'alice', userSig: 'bm90IGEgc2ln'}, (r) => ok(r)).catch(() => {}))`, appID), &res); err != nil {
		t.Fatal(err)
	}
	if res["code"] != 2001.0 {
		t.Errorf("login callback with a wrong userSig: %v, want code 2001", res)
	}
}

// checkKitResolutionAndFullScreen checks that video-resolution sets the
// engine's profile and allowed-full-screen the call UI's box.
func checkKitResolutionAndFullScreen(t *testing.T, b *browser) {
	t.Helper()
	b.must(`window.termcall.kit.setAttribute('video-resolution', '720p')`)
	if q := b.kitEngineQuality(); q != "720p" {
		t.Errorf("video-resolution 720p: engine profile %q", q)
	}
	b.must(`window.termcall.kit.videoResolution = 'RESOLUTION_1080P'`)
	if q := b.kitEngineQuality(); q != "1080p" {
		t.Errorf("videoResolution RESOLUTION_1080P: engine profile %q", q)
	}
	var pos string
	_ = b.eval(`getComputedStyle(window.termcall.kit$('#kit')).position`, &pos)
	if pos != "fixed" {
		t.Errorf("allowed-full-screen (default): the call UI is %q, want fixed (covering the page)", pos)
	}
	b.must(`window.termcall.kit.allowedFullScreen = false`)
	_ = b.eval(`getComputedStyle(window.termcall.kit$('#kit')).position`, &pos)
	if pos != "relative" || b.kitShown("#fullscreen") {
		t.Errorf("allowed-full-screen false: position %q, full-screen button %v; want relative, none", pos, b.kitShown("#fullscreen"))
	}
}

// TestBrowserKitAPI: the Kit methods and props the other Kit tests do not
// reach, each with an effect: login with a callback, setSelfInfo (bob's
// next invitation names alice's nickname), joinInGroupCall and join from
// the Kit (the group screen), video-resolution (the engine's profile),
// allowed-full-screen (the UI stays in the element's box), destroyed (the
// call ends for bob, the engine is a new one afterwards).
func TestBrowserKitAPI(t *testing.T) {
	needBrowser(t)
	e := newEnv(t, func(c *server.Config) { c.DevLogin = true })
	e.group("team", "alice", "bob", "carol", "dave")
	b := newBrowser(t, 90*time.Second, e.url+"/?lang=en")
	b.waitJS("page", "window.termcall && window.termcall.server", 10*time.Second)
	// login({SDKAppID, userID, userSig}, cb): the U form.
	checkKitLoginCallback(t, b, e)
	b.must(fmt.Sprintf(`window.termcall.server.init({SDKAppID: %d, userID: 'alice', userSig: %q})`, appID, e.sig("alice", time.Hour)))
	bob, carol, dave := e.login("bob"), e.login("carol"), e.login("dave")
	bob.withTone(t, 440)
	carol.withTone(t, 660)

	// setSelfInfo: bob's next invitation from alice carries the nickname.
	b.must(`window.termcall.server.setSelfInfo({nickName: 'Alice A.', avatar: 'https://example.org/a.png'})`)
	b.must(`window.termcall.server.calls({userIDList: ['bob'], type: 1})`)
	r := waitClient(t, bob, func(r engine.CallReceived) bool { return r.CallerID == "alice" })
	if r.Caller.Nickname != "Alice A." || r.Caller.Avatar != "https://example.org/a.png" {
		t.Errorf("bob's invitation: caller %+v, want alice's nickname and avatar", r.Caller)
	}
	b.kitClick("#hangup") // cancel while dialing
	b.waitJS("idle", `window.termcall.status === 'idle'`, wait)
	drain(bob)

	// joinInGroupCall and join from the Kit: the group call screen.
	info, err := bob.GroupCall(ctx(t), "team", []string{"carol"}, engine.MediaTypeAudio, engine.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	waitClient(t, carol, func(r engine.CallReceived) bool { return r.CallID == info.CallID })
	carol.must("Accept", carol.Accept(ctx(t)))
	b.must(fmt.Sprintf(`window.termcall.server.joinInGroupCall({type: 1, groupID: 'team', roomID: %d})`, info.RoomID.IntRoomID))
	b.waitJS("in bob's group call", `window.termcall.status === 'calling-group-audio'`, wait)
	b.waitJS("bob's and carol's tiles", `!!window.termcall.kit$('#remote-bob') && !!window.termcall.kit$('#remote-carol')`, wait)
	if code := b.sdkError(`window.termcall.server.calls({userIDList: ['bob'], type: 1})`); code != 4005 {
		t.Errorf("calls during a call: code %v, want 4005", code)
	}
	// The invite button: dave is invited into the running call and shows ringing.
	b.kitClick("#invite")
	b.must(`(window.termcall.kit$('#invite-ids').value = 'dave', window.termcall.kit$('#invite-go').click())`)
	// dave sees the call's caller (bob) as caller, and alice as who invited him.
	waitClient(t, dave, func(r engine.CallReceived) bool {
		return r.CallID == info.CallID && r.CallerID == "bob" && r.InviterID == "alice"
	})
	b.waitJS("dave's tile ringing", `window.termcall.kit$('#remote-dave') && window.termcall.kit$('#remote-dave').dataset.state === 'ringing'`, wait)
	dave.must("Accept", dave.Accept(ctx(t)))
	b.waitJS("dave in the call", `window.termcall.kit$('#remote-dave').dataset.state === 'in'`, wait)
	// The device pickers list the fake devices; the speaker button moves
	// the remote audio to the earpiece choice.
	b.kitClick("#devices")
	b.waitJS("device pickers", `window.termcall.kit$('#mic-select').options.length >= 1 && window.termcall.kit$('#cam-select').options.length >= 1 && window.termcall.kit$('#speaker-select').options.length >= 1`, wait)
	b.kitClick("#speaker")
	b.waitJS("earpiece", `window.termcall.engine.getAudioPlaybackDevice().device === 'ear' && window.termcall.kit$('#speaker').textContent === 'Earpiece'`, wait)
	b.kitClick("#speaker")
	b.waitJS("speaker", `window.termcall.engine.getAudioPlaybackDevice().device === 'speaker'`, wait)
	b.kitClick("#hangup")
	b.waitJS("idle", `window.termcall.status === 'idle'`, wait)
	b.must(fmt.Sprintf(`window.termcall.server.join({callId: %q})`, info.CallID))
	b.waitJS("joined again by callId", `window.termcall.status === 'calling-group-audio'`, wait)

	// video-resolution and allowed-full-screen.
	checkKitResolutionAndFullScreen(t, b)

	// destroyed: the call ends for alice (bob sees her leave), the Kit is idle,
	// and the engine behind it is a new, logged-out one.
	bob.rec.skipConn() // forget bob's events so far (alice left this call once already)
	b.must(`(window.oldEngine = window.termcall.server.getTUICallEngineInstance(), window.termcall.server.destroyed())`)
	waitClient(t, bob, func(l engine.UserLeave) bool { return l.UserID == "alice" })
	var after map[string]any
	if err := b.eval(`({status: window.termcall.server.status, same: window.termcall.server.getTUICallEngineInstance() === window.oldEngine, user: window.termcall.server.getTUICallEngineInstance().userID, hidden: window.termcall.kit$('#kit').hidden})`, &after); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"status": "idle", "same": false, "user": "", "hidden": true}, after); diff != "" {
		t.Errorf("after destroyed (-want +got):\n%s", diff)
	}
}

func (b *browser) kitEngineQuality() string {
	b.t.Helper()
	var q string
	if err := b.eval(`window.termcall.server.getTUICallEngineInstance().getVideoQuality()`, &q); err != nil {
		b.t.Fatal(err)
	}
	return q
}

// callbacks is the JSON of the Kit callbacks the page recorded.
func (b *browser) callbacks() string {
	b.t.Helper()
	var s string
	if err := b.eval(`JSON.stringify(window.termcall.callbacks)`, &s); err != nil {
		b.t.Fatal(err)
	}
	return s
}
