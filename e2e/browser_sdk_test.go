package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callvideo"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/server"
)

// sdkPageJS turns a same-origin page without script (a 404) into a bare
// SDK client: the engine logged in as user through the development login,
// every TUICallEvent recorded in window.termcall.events (the helpers of
// browser_test.go read them there).
func sdkPageJS(user string) string {
	return fmt.Sprintf(`(async () => {
  const m = await import('/sdk/tuicall-engine.js');
  const r = await fetch('/v1/dev/usersig', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({userId: %q})});
  const {userSig, sdkAppId} = await r.json();
  const engine = m.TUICallEngine.createInstance({SDKAppID: sdkAppId});
  window.termcall = {m, engine, events: [], error: ''};
  for (const [k, v] of Object.entries(m.TUICallEvent)) {
    if (v === m.TUICallEvent.REMOTE_STREAM || v === m.TUICallEvent.LOCAL_STREAM) continue;
    engine.on(v, (p) => window.termcall.events.push({event: k, payload: p === undefined ? null : JSON.parse(JSON.stringify(p))}));
  }
  await engine.login({userID: %q, userSig});
  window.termcall.loggedIn = true;
})()`, user, user)
}

// sdkError runs a call expected to reject and returns the TUICallError's code.
func (b *browser) sdkError(js string) float64 {
	b.t.Helper()
	var code float64
	if err := b.eval(`Promise.resolve().then(() => `+js+`).then(() => -1, (e) => e.code || -2)`, &code); err != nil {
		b.t.Fatalf("browser: %s: %v", js, err)
	}
	return code
}

// countEvents is how many times the page recorded the event.
func (b *browser) countEvents(name string) int {
	b.t.Helper()
	return int(b.number(fmt.Sprintf(`window.termcall.events.filter(e => e.event === %q).length`, name)))
}

// waitClient reads c's events until one matches (or fails after wait).
func waitClient[T engine.Event](t *testing.T, c *client, match func(T) bool) T {
	t.Helper()
	var found T
	testutil.WithTimeout(t, func() string {
		// Take the events one at a time as they come, for up to a second
		// (so that the timeout holds when events keep coming), until a
		// match.
		for end := time.Now().Add(time.Second); time.Now().Before(end); {
			evs := c.rec.take(1, time.Until(end))
			if len(evs) == 1 {
				if v, ok := evs[0].(T); ok && match(v) {
					found = v
					return ""
				}
			}
		}
		return fmt.Sprintf("%s: no %T came", c.id, found)
	}, wait)
	return found
}

// sdkTest is TestBrowserSDKMethods' page (alice) and terminal clients.
type sdkTest struct {
	t                      *testing.T
	b                      *browser
	bob, carol, dave, erin *client
	bobVideo               *callvideo.Video
}

// sdkSenderJS is the page's video sender.
const sdkSenderJS = `window.termcall.engine.getPeerConnection().getSenders().find(s => s.track && s.track.kind === 'video')`

// TestBrowserSDKMethods drives the Web engine's methods in headless
// chromium (two fake cameras) against a real server and terminal engines:
// ignore, a group call extended with inviteUser (USER_ACCEPT only for the
// people who accepted an invitation, not for one who joined by itself),
// joinInGroupCall, the network-quality event, setVideoQuality,
// setBeautyLevel (the sent picture is smoothed), switchCamera and
// selectAudioPlaybackDevice, with their argument checks.
func TestBrowserSDKMethods(t *testing.T) {
	needBrowser(t)
	e := newEnv(t, func(c *server.Config) { c.DevLogin = true })
	e.group("team", "alice", "bob", "carol", "dave", "erin")
	b := newBrowser(t, 150*time.Second, e.url+"/blank-for-sdk-tests",
		chromedp.Flag("use-fake-device-for-media-stream", "device-count=3"))
	b.must(sdkPageJS("alice"))
	w := &sdkTest{t: t, b: b}
	w.bob, w.carol, w.dave, w.erin = e.login("bob"), e.login("carol"), e.login("dave"), e.login("erin")
	for _, c := range []*client{w.bob, w.carol, w.dave, w.erin} {
		c.withTone(t, 440)
	}
	w.bobVideo = w.bob.withVideo(t, callvideo.Options{ViewAll: true})

	w.ignore()
	w.groupCall()
	w.networkQuality()
	w.joinByRoom()
	w.videoQuality()
	w.beauty()
	w.switchCamera()
	w.playback()
}

// waitFrames checks that bob keeps receiving video frames from the page.
func (w *sdkTest) waitFrames(what string) {
	t, b := w.t, w.b
	t.Helper()
	before := frames(w.bobVideo, "alice")
	if !testutil.Poll(10*time.Second, func() bool { return frames(w.bobVideo, "alice") >= before+10 }) {
		var st string
		_ = b.eval(`(async () => { const out = []; (await window.termcall.engine.getPeerConnection().getStats()).forEach(r => { if (r.type === 'outbound-rtp' && r.kind === 'video') out.push(JSON.stringify(r)); }); return out.join(' ') + ' track ' + JSON.stringify(`+sdkSenderJS+`.track.readyState) + ' ' + `+sdkSenderJS+`.track.muted; })()`, &st)
		t.Fatalf("%s: bob got no more video from the page (%d frames): %s", what, frames(w.bobVideo, "alice"), st)
	}
}

// ignore is step 1 of TestBrowserSDKMethods.
func (w *sdkTest) ignore() {
	t, b := w.t, w.b
	t.Helper()
	bob := w.bob
	// 1. ignore: bob hears the line busy; the page leaves the ringing state.
	info := bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	recv := b.waitEvent("ON_CALL_RECEIVED", wait)
	if want := info.CallID + ":alice"; recv["inviteID"] != want {
		t.Errorf("inviteID %v, want %q (one invitation: call and invitee)", recv["inviteID"], want)
	}
	b.must(`window.termcall.engine.ignore()`)
	bob.expect(engine.UserLineBusy{CallID: info.CallID, UserID: "alice"}, cancelled(info, "bob", engine.ReasonLineBusy))
	if p := b.waitEvent("ON_CALL_CANCELED", wait); p["userID"] != "alice" || p["reason"] != "lineBusy" {
		t.Errorf("ON_CALL_CANCELED after ignore: %v, want userID alice, reason lineBusy", p)
	}
	if code := b.sdkError(`window.termcall.engine.ignore()`); code != 5006 {
		t.Errorf("ignore with no call: code %v, want 5006", code)
	}
}

// groupCall is step 2 of TestBrowserSDKMethods.
func (w *sdkTest) groupCall() {
	t, b := w.t, w.b
	t.Helper()
	bob, carol, dave, erin := w.bob, w.carol, w.dave, w.erin
	// 2. A group call from the page; bob accepts, dave is invited with
	// inviteUser and accepts, erin joins by herself.
	b.clearEvents()
	var placed map[string]any
	if err := b.eval(`window.termcall.engine.calls({userIDList: ['bob', 'carol'], type: 1, chatGroupID: 'team'})`, &placed); err != nil {
		t.Fatalf("group call: %v", err)
	}
	callID, _ := placed["callId"].(string)
	roomID, _ := placed["roomID"].(float64)
	if callID == "" || roomID < 1 {
		t.Fatalf("calls resolved %v, want a callId and a numeric roomID", placed)
	}
	for _, c := range []*client{bob, carol} {
		waitClient(t, c, func(r engine.CallReceived) bool { return r.CallID == callID })
	}
	bob.must("Accept", bob.Accept(ctx(t)))
	if p := b.waitEvent("USER_ACCEPT", wait); p["userID"] != "bob" {
		t.Errorf("USER_ACCEPT %v, want bob", p)
	}
	var invited map[string]any
	if err := b.eval(`window.termcall.engine.inviteUser({userIDList: ['dave']})`, &invited); err != nil {
		t.Fatalf("inviteUser: %v", err)
	}
	if diff := cmp.Diff(map[string]any{"userIDList": []any{"dave"}}, invited); diff != "" {
		t.Errorf("inviteUser resolved (-want +got):\n%s", diff)
	}
	if code := b.sdkError(`window.termcall.engine.inviteUser({userIDList: []})`); code != 3010 {
		t.Errorf("inviteUser with no one: code %v, want 3010", code)
	}
	if r := waitClient(t, dave, func(r engine.CallReceived) bool { return r.CallID == callID }); r.CallerID != "alice" {
		t.Errorf("dave's invitation from %q, want alice", r.CallerID)
	}
	dave.must("Accept", dave.Accept(ctx(t)))
	if _, err := erin.JoinInGroupCall(ctx(t), engine.RoomID{IntRoomID: uint32(roomID)}, "team", engine.MediaTypeAudio); err != nil {
		t.Fatalf("erin joins: %v", err)
	}
	b.waitJS("erin entered", `window.termcall.events.some(e => e.event === 'USER_ENTER' && e.payload.userID === 'erin')`, wait)
	b.waitJS("dave accepted", `window.termcall.events.some(e => e.event === 'USER_ACCEPT' && e.payload.userID === 'dave')`, wait)
	var accepted []string
	if err := b.eval(`window.termcall.events.filter(e => e.event === 'USER_ACCEPT').map(e => e.payload.userID)`, &accepted); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"bob", "dave"}, accepted); diff != "" {
		t.Errorf("USER_ACCEPT users (-want +got): erin joined by herself, carol still rings\n%s", diff)
	}
}

// networkQuality is step 3 of TestBrowserSDKMethods.
func (w *sdkTest) networkQuality() {
	t, b := w.t, w.b
	t.Helper()
	bob, carol, dave, erin := w.bob, w.carol, w.dave, w.erin
	// 3. The network-quality event, every 2 s: alice's own and the others'.
	b.waitJS("two quality reports", `window.termcall.events.filter(e => e.event === 'ON_USER_NETWORK_QUALITY_CHANGED').length >= 2`, 10*time.Second)
	var qualities []map[string]float64
	if err := b.eval(`(() => { const q = window.termcall.events.filter(e => e.event === 'ON_USER_NETWORK_QUALITY_CHANGED');
		return q[q.length - 1].payload.networkQualityList.map(x => ({[x.userId]: x.quality})); })()`, &qualities); err != nil {
		t.Fatal(err)
	}
	t.Logf("network quality at the page: %v", qualities)
	seen := map[string]float64{}
	for _, q := range qualities {
		for u, v := range q {
			seen[u] = v
		}
	}
	for _, u := range []string{"alice", "bob", "dave"} {
		if q, ok := seen[u]; !ok || q < 1 || q > 3 {
			t.Errorf("network quality of %s: %v (present %v), want 1..3 on loopback", u, q, ok)
		}
	}
	b.must(`window.termcall.engine.hangup()`)
	b.waitEvent("CALLING_END", wait)
	for _, c := range []*client{bob, carol, dave, erin} {
		_ = c.Hangup(ctx(t))
		drain(c)
	}
}

// joinByRoom is step 4 of TestBrowserSDKMethods.
func (w *sdkTest) joinByRoom() {
	t, b := w.t, w.b
	t.Helper()
	bob, carol := w.bob, w.carol
	// 4. joinInGroupCall: bob's group call in team, the page joins it by room.
	b.clearEvents()
	if code := b.sdkError(`window.termcall.engine.joinInGroupCall({type: 1, groupID: 'team'})`); code != 3002 {
		t.Errorf("joinInGroupCall without roomID: code %v, want 3002", code)
	}
	if code := b.sdkError(`window.termcall.engine.joinInGroupCall({type: 7, groupID: 'team', roomID: 5})`); code != 3003 {
		t.Errorf("joinInGroupCall with type 7: code %v, want 3003", code)
	}
	ginfo, err := bob.GroupCall(ctx(t), "team", []string{"carol"}, engine.MediaTypeAudio, engine.CallParams{})
	if err != nil {
		t.Fatal(err)
	}
	waitClient(t, carol, func(r engine.CallReceived) bool { return r.CallID == ginfo.CallID })
	carol.must("Accept", carol.Accept(ctx(t)))
	if code := b.sdkError(fmt.Sprintf(`window.termcall.engine.joinInGroupCall({type: 1, groupID: 'team', roomID: %d})`, ginfo.RoomID.IntRoomID+1)); code != 4008 {
		t.Errorf("joinInGroupCall in a room without a call: code %v, want 4008", code)
	}
	var joined map[string]any
	if err := b.eval(fmt.Sprintf(`window.termcall.engine.joinInGroupCall({type: 1, groupID: 'team', roomID: %d})`, ginfo.RoomID.IntRoomID), &joined); err != nil {
		t.Fatalf("joinInGroupCall: %v", err)
	}
	if diff := cmp.Diff(map[string]any{"callId": ginfo.CallID, "roomID": float64(ginfo.RoomID.IntRoomID)}, joined); diff != "" {
		t.Errorf("joinInGroupCall resolved (-want +got):\n%s", diff)
	}
	waitClient(t, bob, func(j engine.UserJoin) bool { return j.UserID == "alice" })
	b.waitEvent("ON_CALL_BEGIN", wait)
	b.waitAudio(30, 10*time.Second)
	if n := b.countEvents("USER_ACCEPT"); n != 0 {
		t.Errorf("%d USER_ACCEPT after joining a call (bob and carol were there already), want 0", n)
	}
	b.must(`window.termcall.engine.hangup()`)
	b.waitEvent("CALLING_END", wait)
	for _, c := range []*client{bob, carol} {
		_ = c.Hangup(ctx(t))
		drain(c)
	}
}

// videoQuality is step 5 of TestBrowserSDKMethods.
func (w *sdkTest) videoQuality() {
	t, b := w.t, w.b
	t.Helper()
	bob := w.bob
	// 5. Video: setVideoQuality, setBeautyLevel, switchCamera in a video call with bob.
	b.clearEvents()
	for _, bad := range []string{`-1`, `10`, `'x'`, `null`, `true`} {
		if code := b.sdkError(`window.termcall.engine.setBeautyLevel(` + bad + `)`); code != 1004 {
			t.Errorf("setBeautyLevel(%s): code %v, want 1004", bad, code)
		}
	}
	if code := b.sdkError(`window.termcall.engine.setVideoQuality('4k')`); code != 1004 {
		t.Errorf("setVideoQuality('4k'): code %v, want 1004", code)
	}
	b.must(`window.termcall.engine.calls({userIDList: ['bob'], type: 2})`)
	waitClient(t, bob, func(r engine.CallReceived) bool { return r.CallerID == "alice" })
	bob.must("Accept", bob.Accept(ctx(t)))
	b.waitEvent("ON_CALL_BEGIN", wait)
	b.must(`window.termcall.engine.openCamera()`)
	b.waitJS("video sender", sdkSenderJS, wait)

	w.waitFrames("video call")
	b.must(`window.termcall.engine.setVideoQuality('720p')`)
	b.waitJS("720p camera", `(() => { const s = window.termcall.engine.getLocalStream().getVideoTracks()[0].getSettings(); return s.width === 1280 && s.height === 720; })()`, 5*time.Second)
	if br := b.number(sdkSenderJS + `.getParameters().encodings[0].maxBitrate`); br != 1500000 {
		t.Errorf("720p sender maxBitrate %v, want 1500000", br)
	}
	b.must(`window.termcall.engine.setVideoQuality('RESOLUTION_480P')`)
	b.waitJS("480p camera", `window.termcall.engine.getLocalStream().getVideoTracks()[0].getSettings().width === 640`, 5*time.Second)
	if br := b.number(sdkSenderJS + `.getParameters().encodings[0].maxBitrate`); br != 900000 {
		t.Errorf("480p sender maxBitrate %v, want 900000", br)
	}
}

// beauty is step 6 of TestBrowserSDKMethods.
func (w *sdkTest) beauty() {
	t, b := w.t, w.b
	t.Helper()
	// The beauty filter smooths what is sent: the mean horizontal gradient
	// of the sent frames drops (measured on the sender's own track).
	sharp := b.number(`(` + gradientJS + `)(` + sdkSenderJS + `.track)`)
	b.must(`window.termcall.engine.setBeautyLevel(9)`)
	if same := b.number(`+(` + sdkSenderJS + `.track === window.termcall.engine.getLocalStream().getVideoTracks()[0])`); same != 0 {
		t.Errorf("with beauty 9 the sender still sends the raw camera track")
	}
	time.Sleep(500 * time.Millisecond)
	smooth := b.number(`(` + gradientJS + `)(` + sdkSenderJS + `.track)`)
	b.must(`window.termcall.engine.setBeautyLevel(0)`)
	time.Sleep(300 * time.Millisecond)
	sharpAgain := b.number(`(` + gradientJS + `)(` + sdkSenderJS + `.track)`)
	t.Logf("sent video, mean horizontal gradient: beauty 0 %.2f, beauty 9 %.2f, beauty 0 again %.2f", sharp, smooth, sharpAgain)
	if sharp <= 0 || smooth > 0.8*min(sharp, sharpAgain) {
		t.Errorf("beauty filter: gradient %.2f → %.2f → %.2f; want beauty 9 below 80%% of level 0 (before and after)", sharp, smooth, sharpAgain)
	}
	w.waitFrames("after the beauty filter")
}

// switchCamera is step 7 of TestBrowserSDKMethods.
func (w *sdkTest) switchCamera() {
	t, b := w.t, w.b
	t.Helper()
	// switchCamera: the next fake camera replaces the current one on the
	// sender, in the browser's order. (Chromium's second fake camera is a
	// 16-bit depth camera whose frames the encoder drops: the test checks
	// the frames bob receives after the switch to the third.)
	var cams []string
	if err := b.eval(`window.termcall.engine.getDeviceList('camera').then(l => l.map(d => d.deviceId))`, &cams); err != nil || len(cams) != 3 {
		t.Fatalf("cameras %v (%v), want three fake ones", cams, err)
	}
	for i := 1; i <= 2; i++ {
		var sw map[string]any
		if err := b.eval(`window.termcall.engine.switchCamera()`, &sw); err != nil {
			t.Fatalf("switchCamera: %v", err)
		}
		var now, sent string
		_ = b.eval(`window.termcall.engine.getLocalStream().getVideoTracks()[0].getSettings().deviceId`, &now)
		_ = b.eval(sdkSenderJS+`.track.getSettings().deviceId`, &sent)
		if now != cams[i] || now != sw["deviceId"] || sent != now {
			t.Errorf("switchCamera %d: camera %q (resolved %v, sender %q), want %q of %v", i, now, sw, sent, cams[i], cams)
		}
	}
	w.waitFrames("after switchCamera")
	if code := b.sdkError(`window.termcall.engine.switchCamera('sideways')`); code != 1004 {
		t.Errorf("switchCamera('sideways'): code %v, want 1004", code)
	}
}

// playback is step 8 of TestBrowserSDKMethods.
func (w *sdkTest) playback() {
	t, b := w.t, w.b
	t.Helper()
	// selectAudioPlaybackDevice: the speaker is the default output of bob's <audio>.
	var sel map[string]any
	if err := b.eval(`window.termcall.engine.selectAudioPlaybackDevice('speaker')`, &sel); err != nil {
		t.Fatalf("selectAudioPlaybackDevice: %v", err)
	}
	if diff := cmp.Diff(map[string]any{"device": "speaker", "deviceId": ""}, sel); diff != "" {
		t.Errorf("selectAudioPlaybackDevice('speaker') (-want +got):\n%s", diff)
	}
	if err := b.eval(`window.termcall.engine.selectAudioPlaybackDevice('ear')`, &sel); err != nil {
		t.Fatalf("selectAudioPlaybackDevice('ear'): %v", err)
	}
	var sinks []string
	_ = b.eval(`[...document.querySelectorAll('audio[data-termcall-user]')].map(a => a.sinkId)`, &sinks)
	if len(sinks) != 1 || sinks[0] != sel["deviceId"] || sel["device"] != "ear" {
		t.Errorf("ear: resolved %v, audio sinks %q; want bob's element on the output resolved", sel, sinks)
	}
	t.Logf("earpiece output here: %q (the default output when the browser lists no earpiece)", sel["deviceId"])
	if code := b.sdkError(`window.termcall.engine.selectAudioPlaybackDevice('loud')`); code != 1004 {
		t.Errorf("selectAudioPlaybackDevice('loud'): code %v, want 1004", code)
	}
	b.must(`window.termcall.engine.hangup()`)
	b.waitEvent("CALLING_END", wait)
}

// gradientJS reads one frame of a video track (a clone, through a
// <video> and a canvas) and returns its mean absolute horizontal
// difference of luma: the amount of fine detail.
const gradientJS = `async (track) => {
  const v = document.createElement('video');
  v.muted = true;
  v.srcObject = new MediaStream([track.clone()]);
  await v.play();
  const t0 = performance.now();
  while ((!v.videoWidth || v.currentTime < 0.3) && performance.now() - t0 < 5000) await new Promise(r => setTimeout(r, 50));
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  const ctx = c.getContext('2d');
  let total = 0;
  for (let k = 0; k < 3; k++) {
    ctx.drawImage(v, 0, 0);
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let sum = 0, n = 0;
    for (let y = 0; y < c.height; y += 2) for (let x = 1; x < c.width; x++) {
      const i = (y * c.width + x) * 4, j = i - 4;
      const l1 = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
      const l0 = 0.299 * d[j] + 0.587 * d[j + 1] + 0.114 * d[j + 2];
      sum += Math.abs(l1 - l0); n++;
    }
    total += sum / n;
    await new Promise(r => setTimeout(r, 100));
  }
  v.srcObject.getTracks().forEach(t => t.stop());
  return total / 3;
}`
