package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callvideo"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/server"
)

// TestWebSecurityHeaders: the page and the SDK come with a CSP (self,
// which covers ws/wss to this host, blob: media, no framing), nosniff, no-referrer, DENY and a
// Permissions-Policy that allows camera and microphone for this origin.
func TestWebSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, path := range []string{"/", "/sdk/tuicall-engine.js", "/sdk/tuicall-kit.js", "/app.js", "/no-such-file"} {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "connect-src 'self';",
			"media-src 'self' blob:", "frame-ancestors 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		// 'wasm-unsafe-eval' (WebAssembly of this origin's files: the media
		// effects) is allowed; JavaScript eval and inline code are not.
		if strings.Contains(csp, "'unsafe-inline'") || strings.Contains(csp, "'unsafe-eval'") {
			t.Errorf("GET %s: CSP %q allows unsafe code", path, csp)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
			if got := h.Get(k); got != want {
				t.Errorf("GET %s: %s %q, want %q", path, k, got, want)
			}
		}
		pp := h.Get("Permissions-Policy")
		for _, want := range []string{"camera=(self)", "microphone=(self)"} {
			if !strings.Contains(pp, want) {
				t.Errorf("GET %s: Permissions-Policy %q lacks %q", path, pp, want)
			}
		}
	}
	// A forged Host does not get into the policy.
	req, _ := http.NewRequest("GET", e.url+"/", nil)
	req.Host = "evil.example'; script-src *"
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "evil") {
			t.Errorf("forged host in the CSP: %q", csp)
		}
	}
}

// TestBrowserSDKEventMapping runs the SDK's pure mapEvent (server event →
// Web TUICallEvents) in chromium, table-driven.
func TestBrowserSDKEventMapping(t *testing.T) {
	needBrowser(t)
	e := newEnv(t)
	b := newBrowser(t, 30*time.Second, e.url+"/blank-for-sdk-tests") // same origin, no page script
	room := map[string]any{"intRoomId": 7}
	caller := map[string]any{"callId": "c1", "role": 1, "inviter": "alice", "mediaType": 1, "pending": []string{"bob"}}
	callee := map[string]any{"callId": "c1", "role": 2, "inviter": "alice", "mediaType": 2}
	type out struct {
		Name    string `json:"name"`
		Event   string `json:"event"`
		Payload any    `json:"payload"`
	}
	tests := []struct {
		name string
		self string
		call map[string]any
		ev   map[string]any
		want []out
	}{
		{"received", "bob", nil,
			map[string]any{"event": "onCallReceived", "callId": "c1", "callerId": "alice", "calleeIdList": []string{"bob", "carol"}, "groupId": "g", "roomId": room, "mediaType": 2, "userData": "x"},
			[]out{{"ON_CALL_RECEIVED", "onCallReceived", map[string]any{"sponsor": "alice", "userIDList": []any{"carol"}, "isFromGroup": true,
				"inviteData": map[string]any{"callType": 2.0, "roomID": 7.0}, "inviteID": "c1:bob", "userData": "x", "callId": "c1", "roomID": 7.0,
				"callMediaType": 2.0, "callRole": "invitee", "groupID": "g"}}, {"INVITED", "invited", nil}}},
		{"caller cancels: callee gets its own ID", "bob", callee,
			map[string]any{"event": "onCallCancelled", "callId": "c1", "userId": "alice", "roomId": room, "mediaType": 2, "reason": "canceled"},
			[]out{{"ON_CALL_CANCELED", "onCallCanceled", map[string]any{"userID": "bob", "callId": "c1", "roomID": 7.0, "callMediaType": 2.0, "callRole": "invitee", "reason": "canceled"}},
				{"CALLING_CANCEL", "callingCancel", nil}}},
		{"callee rejects: caller's own ID", "alice", caller,
			map[string]any{"event": "onCallCancelled", "callId": "c1", "userId": "alice", "roomId": room, "mediaType": 1, "reason": "reject"},
			[]out{{"ON_CALL_CANCELED", "onCallCanceled", map[string]any{"userID": "alice", "callId": "c1", "roomID": 7.0, "callMediaType": 1.0, "callRole": "inviter", "reason": "reject"}},
				{"CALLING_CANCEL", "callingCancel", nil}}},
		{"begin", "alice", caller,
			map[string]any{"event": "onCallBegin", "callId": "c1", "roomId": map[string]any{"strRoomId": "r9"}, "mediaType": 1, "role": 1},
			[]out{{"ON_CALL_BEGIN", "onCallBegin", map[string]any{"callId": "c1", "roomID": 0.0, "strRoomID": "r9", "callMediaType": 1.0, "callRole": "inviter"}}}},
		{"end with totalTime", "bob", callee,
			map[string]any{"event": "onCallEnd", "callId": "c1", "roomId": room, "mediaType": 2, "totalTime": 42, "userId": "alice", "reason": "hangup"},
			[]out{{"CALLING_END", "callingEnd", map[string]any{"callId": "c1", "roomID": 7.0, "callMediaType": 2.0, "callRole": "invitee",
				"totalTime": 42.0, "callEnd": 42.0, "userID": "alice", "reason": "hangup"}}}},
		{"no answer", "alice", caller,
			map[string]any{"event": "onUserNoResponse", "callId": "c1", "userId": "bob"},
			[]out{{"NO_RESP", "noResp", map[string]any{"sponsor": "alice", "userIDList": []any{"bob"}, "inviteID": "c1:bob"}}}},
		{"join of an invitee", "alice", caller,
			map[string]any{"event": "onUserJoin", "callId": "c1", "userId": "bob"},
			[]out{{"USER_ACCEPT", "userAccept", map[string]any{"userID": "bob"}}, {"USER_ENTER", "userEnter", map[string]any{"userID": "bob"}}}},
		{"join of one not invited (join, joinInGroupCall)", "alice", caller,
			map[string]any{"event": "onUserJoin", "callId": "c1", "userId": "erin"},
			[]out{{"USER_ENTER", "userEnter", map[string]any{"userID": "erin"}}}},
		{"join of the inviter", "bob", callee,
			map[string]any{"event": "onUserJoin", "callId": "c1", "userId": "alice"},
			[]out{{"USER_ENTER", "userEnter", map[string]any{"userID": "alice"}}}},
		{"leave", "alice", caller, map[string]any{"event": "onUserLeave", "callId": "c1", "userId": "bob"},
			[]out{{"USER_LEAVE", "userLeave", map[string]any{"userID": "bob"}}}},
		{"reject", "alice", caller, map[string]any{"event": "onUserReject", "callId": "c1", "userId": "bob"},
			[]out{{"REJECT", "reject", map[string]any{"userID": "bob", "inviteID": "c1:bob"}}}},
		{"busy", "alice", caller, map[string]any{"event": "onUserLineBusy", "callId": "c1", "userId": "bob"},
			[]out{{"LINE_BUSY", "lineBusy", map[string]any{"userID": "bob", "inviteID": "c1:bob"}}}},
		{"audio off", "alice", caller, map[string]any{"event": "onUserAudioAvailable", "callId": "c1", "userId": "bob", "available": false},
			[]out{{"USER_AUDIO_AVAILABLE", "userAudioAvailable", map[string]any{"userID": "bob", "isAudioAvailable": false}}}},
		{"video on", "alice", caller, map[string]any{"event": "onUserVideoAvailable", "callId": "c1", "userId": "bob", "available": true},
			[]out{{"USER_VIDEO_AVAILABLE", "userVideoAvailable", map[string]any{"userID": "bob", "isVideoAvailable": true}}}},
		{"media type", "alice", caller, map[string]any{"event": "onCallMediaTypeChanged", "callId": "c1", "oldMediaType": 1, "mediaType": 2},
			[]out{{"CALL_TYPE_CHANGED", "callTypeChanged", map[string]any{"oldCallType": 1.0, "newCallType": 2.0}}}},
		{"invitee list", "alice", caller, map[string]any{"event": "onGroupCallInviteeListUpdate", "callId": "c1", "userIdList": []string{"bob", "dave"}},
			[]out{{"GROUP_CALL_INVITEE_LIST_UPDATE", "groupCallInviteeListUpdate", map[string]any{"userIDList": []any{"bob", "dave"}}}}},
		{"kicked", "alice", nil, map[string]any{"event": "onKickedOffline"}, []out{{"KICKED_OUT", "kickedOut", nil}}},
		{"sig expired", "alice", nil, map[string]any{"event": "onUserSigExpired"},
			[]out{{"ERROR", "error", map[string]any{"code": 2002.0, "msg": "userSig expired: calls go on; log in again with a new userSig before placing calls"}}}},
		{"unknown", "alice", nil, map[string]any{"event": "onSomethingNew"}, []out{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, _ := json.Marshal(tc.ev)
			call, _ := json.Marshal(tc.call)
			var raw string
			js := fmt.Sprintf(`import('/sdk/tuicall-engine.js').then(m => JSON.stringify(m.mapEvent(%s, {self: %q, call: %s})))`, ev, tc.self, call)
			if err := b.eval(js, &raw); err != nil {
				t.Fatal(err)
			}
			var got []out
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			// The deprecated twins carry the same payload: compare names only.
			for i := range tc.want {
				if tc.want[i].Payload == nil && i > 0 && i < len(got) && tc.want[i].Name != "KICKED_OUT" {
					tc.want[i].Payload = got[i-1].Payload
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("mapEvent (-want +got):\n%s", diff)
			}
		})
	}
	// The network-quality grades (as engine/media_stats.go): loss %, jitter
	// ms, round trip ms (-1 unknown); the worst measure wins.
	for _, q := range []struct {
		loss, jitter, rtt float64
		want              float64
	}{
		{0, 0, -1, 1}, {0.5, 10, 50, 1}, {2, 0, -1, 2}, {0, 30, -1, 2}, {0, 0, 150, 2},
		{5, 0, 0, 3}, {0, 0, 400, 4}, {20, 0, -1, 5}, {0, 200, -1, 5}, {50, 0, -1, 6}, {0, 0, 2000, 6}, {1, 20, 100, 2},
	} {
		var got float64
		if err := b.eval(fmt.Sprintf(`import('/sdk/tuicall-engine.js').then(m => m.qualityOf(%g, %g, %g))`, q.loss, q.jitter, q.rtt), &got); err != nil {
			t.Fatal(err)
		}
		if got != q.want {
			t.Errorf("qualityOf(loss %g%%, jitter %g ms, rtt %g ms) = %g, want %g", q.loss, q.jitter, q.rtt, got, q.want)
		}
	}
}

// number evaluates a JavaScript number in the page.
func (b *browser) number(js string) float64 {
	b.t.Helper()
	var v float64
	if err := b.eval(js, &v); err != nil {
		b.t.Fatalf("browser: %s: %v", js, err)
	}
	return v
}

// peakFreqJS measures the dominant frequency of a user's remote audio in
// the page with an AnalyserNode.
const peakFreqJS = `(async (user) => {
  const s = window.termcall.engine.getRemoteStream(user);
  if (!s || !s.getAudioTracks().length) return -1;
  const ctx = new AudioContext();
  await ctx.resume();
  const src = ctx.createMediaStreamSource(new MediaStream(s.getAudioTracks()));
  const an = ctx.createAnalyser();
  an.fftSize = 8192;
  an.smoothingTimeConstant = 0.5;
  src.connect(an);
  await new Promise(r => setTimeout(r, 1200));
  const bins = new Float32Array(an.frequencyBinCount);
  an.getFloatFrequencyData(bins);
  let best = 1;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  const hz = best * ctx.sampleRate / an.fftSize;
  await ctx.close();
  return bins[best] > -100 ? hz : -2;
})`

// inboundPerStreamJS lists the packets of each inbound audio stream.
const inboundPerStreamJS = `(async () => {
  const pc = window.termcall.engine.getPeerConnection();
  if (!pc) return [];
  const out = [];
  (await pc.getStats()).forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') out.push(r.packetsReceived || 0); });
  return out;
})()`

// TestBrowserMedia: (a) the page calls bob (a termcall engine with a
// 440 Hz tone and the test pattern camera): bob's ear holds the browser's
// fake microphone beeps, the page's AnalyserNode finds bob's 440 Hz, and
// the page's <video> of bob plays frames. (b) bob calls the page: the
// incoming-call panel names bob and rings; the Accept button answers. Then
// the page's call history lists both calls and deletes one.
func TestBrowserMedia(t *testing.T) {
	needBrowser(t)
	e := newEnv(t, func(c *server.Config) { c.DevLogin = true })
	e.users("alice", "bob")
	b := newBrowser(t, 80*time.Second, e.url+"/?user=alice")
	b.waitJS("logged in", "window.termcall && window.termcall.loggedIn", 10*time.Second)
	bob := e.login("bob")
	bobEar := bob.withTone(t, 440)
	bob.withVideo(t, callvideo.Options{Camera: "pattern:320x240"})
	bob.must("OpenCamera", bob.OpenCamera(ctx(t), engine.CameraFront))

	pageVideoCall(t, b, bob, bobEar)
	info := pageAnswers(t, b, bob, bobEar)
	pageHistory(t, b, info)
}

// pageVideoCall is TestBrowserMedia's step (a): a video call from the page's form, heard and seen both ways.
func pageVideoCall(t *testing.T, b *browser, bob *client, bobEar *ear) {
	t.Helper()
	// (a) From the page's form: a video call to bob.
	b.must(`(document.getElementById('callees').value = 'bob', document.getElementById('video-call-btn').click())`)
	got := bob.rec.take(1, wait)
	rcv, ok := func() (engine.CallReceived, bool) {
		if len(got) == 0 {
			return engine.CallReceived{}, false
		}
		r, ok := got[0].(engine.CallReceived)
		return r, ok
	}()
	if !ok || rcv.CallerID != "alice" {
		t.Fatalf("bob: got %v, want alice's invitation", got)
	}
	bob.must("Accept", bob.Accept(ctx(t)))
	b.waitEvent("ON_CALL_BEGIN", wait)
	waitCount(t, bobEar, "alice", 50, 10*time.Second)
	bobEar.heard()
	time.Sleep(3 * time.Second)
	pcm := bobEar.heard()
	if len(pcm) > 65536 {
		pcm = pcm[len(pcm)-65536:]
	}
	power, freq := audiotest.Power(pcm), audiotest.ToneFreq(pcm, audio.SampleRate)
	t.Logf("bob's recording of the browser: %d samples, power %.0f (%.1f dB), dominant %.1f Hz, %d packets", len(pcm), power, audiotest.DB(power), freq, bobEar.count("alice"))
	if power < 100 {
		t.Errorf("bob's recording of the browser is silent (power %.1f)", power)
	}
	if freq < 200 || freq > 4000 {
		t.Errorf("bob's recording of the browser: dominant %.1f Hz, want a beep in 200..4000 Hz", freq)
	}
	var hz float64
	if err := b.eval(peakFreqJS+`('bob')`, &hz); err != nil {
		t.Fatal(err)
	}
	t.Logf("the page's AnalyserNode on bob's audio: peak at %.1f Hz", hz)
	if hz < 420 || hz > 460 {
		t.Errorf("the page hears bob at %.1f Hz, want 440", hz)
	}
	b.waitJS("bob's video", `(() => { const v = window.termcall.kit$('#remote-bob video'); return v && v.videoWidth > 0; })()`, 15*time.Second)
	frames0 := b.number(`window.termcall.kit$('#remote-bob video').getVideoPlaybackQuality().totalVideoFrames`)
	time.Sleep(1500 * time.Millisecond)
	frames1 := b.number(`window.termcall.kit$('#remote-bob video').getVideoPlaybackQuality().totalVideoFrames`)
	w := b.number(`window.termcall.kit$('#remote-bob video').videoWidth`)
	h := b.number(`window.termcall.kit$('#remote-bob video').videoHeight`)
	t.Logf("bob's video on the page: %gx%g, frames %g → %g in 1.5 s", w, h, frames0, frames1)
	// (bob's engine scales the 320x240 pattern to its send resolution)
	if w <= 0 || h <= 0 || frames1 <= frames0 {
		t.Errorf("bob's video: %gx%g, frames %g → %g; want a picture and advancing frames", w, h, frames0, frames1)
	}
	b.must(`window.termcall.kit$('#hangup').click()`)
	b.waitEvent("CALLING_END", wait)
	drain(bob)
}

// pageAnswers is TestBrowserMedia's step (b): bob calls the page, answered with its Accept button; it returns the call.
func pageAnswers(t *testing.T, b *browser, bob *client, bobEar *ear) engine.CallInfo {
	t.Helper()
	// (b) bob calls the page: the incoming panel names him, it rings, the
	// Accept button answers (a real click).
	b.clearEvents()
	info := bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	b.waitJS("incoming panel", `!window.termcall.kit$('#incoming').hidden && window.termcall.kit$('#incoming-caller').textContent === 'bob'`, wait)
	b.waitJS("ringtone", `window.termcall.ringing`, time.Second)
	if _, err := chromedp.Run(b.ctx, chromedp.Click(chromedp.JSPath(`window.termcall.kit$('#accept')`))); err != nil {
		t.Fatalf("click Accept: %v", err)
	}
	if p := b.waitEvent("ON_CALL_BEGIN", wait); p["callId"] != info.CallID || p["callRole"] != "invitee" {
		t.Errorf("ON_CALL_BEGIN %v, want invitee of %s", p, info.CallID)
	}
	b.waitJS("ringtone stopped", `!window.termcall.ringing && window.termcall.kit$('#incoming').hidden`, wait)
	before := bobEar.count("alice")
	waitCount(t, bobEar, "alice", before+30, 10*time.Second)
	n := b.waitAudio(30, 10*time.Second)
	t.Logf("answered from the button: %d packets at the page", n)
	bob.must("Hangup", bob.Hangup(ctx(t)))
	b.waitEvent("CALLING_END", wait)
	return info
}

// pageHistory is TestBrowserMedia's the history and the language switch.
func pageHistory(t *testing.T, b *browser, info engine.CallInfo) {
	t.Helper()
	// History: both calls listed; Delete removes one for alice.
	b.waitJS("history rows", `document.querySelectorAll('#history tbody tr[data-call-id]').length >= 2`, wait)
	var rows []string
	if err := b.eval(`[...document.querySelectorAll('#history tbody tr[data-call-id]')].map(r => r.innerText.replace(/\s+/g, ' '))`, &rows); err != nil {
		t.Fatal(err)
	}
	t.Logf("history: %q", rows)
	if len(rows) != 2 || !strings.Contains(rows[0], "incoming") || !strings.Contains(rows[0], "bob") || !strings.Contains(rows[1], "outgoing") {
		t.Errorf("history rows %q, want the incoming call from bob then the outgoing one", rows)
	}
	b.must(fmt.Sprintf(`document.querySelector('#history tr[data-call-id=%q] button.delete').click()`, info.CallID))
	b.waitJS("row deleted", fmt.Sprintf(`!document.querySelector('#history tr[data-call-id=%q]')`, info.CallID), wait)
	var ids []string
	if err := b.eval(`window.termcall.engine.queryRecentCalls({}).then(rs => rs.map(r => r.callId))`, &ids); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] == info.CallID {
		t.Errorf("records after the delete: %v, want only the first call", ids)
	}
	// The language switch.
	b.must(`(document.getElementById('lang').value = 'ja_JP', document.getElementById('lang').dispatchEvent(new Event('change')))`)
	b.waitJS("Japanese", `window.termcall.server.language === 'ja_JP' && document.getElementById('audio-call-btn').textContent === '音声通話' && document.querySelector('#history tbody tr td').textContent.startsWith('発信')`, wait)
}

// TestBrowserGroupCall: the page starts a group call with two engines;
// both answer; the page receives two audio streams and each engine hears
// the page.
func TestBrowserGroupCall(t *testing.T) {
	needBrowser(t)
	e := newEnv(t, func(c *server.Config) { c.DevLogin = true })
	e.group("team", "alice", "bob", "carol")
	b := newBrowser(t, 50*time.Second, e.url+"/?user=alice")
	b.waitJS("logged in", "window.termcall && window.termcall.loggedIn", 10*time.Second)
	bob, carol := e.login("bob"), e.login("carol")
	ears := map[string]*ear{"bob": bob.withTone(t, 440), "carol": carol.withTone(t, 660)}
	b.must(`(document.getElementById('callees').value = 'bob,carol', document.getElementById('group-id').value = 'team', document.getElementById('audio-call-btn').click())`)
	for _, c := range []*client{bob, carol} {
		got := c.rec.take(1, wait)
		if len(got) != 1 {
			t.Fatalf("%s: no invitation", c.id)
		}
		if r, ok := got[0].(engine.CallReceived); !ok || r.CallerID != "alice" || r.GroupID != "team" {
			t.Fatalf("%s: got %+v, want alice's group invitation", c.id, got[0])
		}
		c.must("Accept", c.Accept(ctx(t)))
	}
	b.waitEvent("ON_CALL_BEGIN", wait)
	var per []float64
	testutil.Poll(15*time.Second, func() bool {
		if err := b.eval(inboundPerStreamJS, &per); err != nil {
			t.Fatal(err)
		}
		ok := 0
		for _, n := range per {
			if n > 30 {
				ok++
			}
		}
		return ok >= 2
	})
	t.Logf("page: inbound audio packets per stream %v", per)
	if good := func() int {
		n := 0
		for _, p := range per {
			if p > 30 {
				n++
			}
		}
		return n
	}(); good != 2 {
		t.Errorf("page: %d remote audio streams with > 30 packets (%v), want 2", good, per)
	}
	var users []string
	_ = b.eval(`[...document.querySelectorAll('audio[data-termcall-user]')].map(a => a.dataset.termcallUser).sort()`, &users)
	if diff := cmp.Diff([]string{"bob", "carol"}, users); diff != "" {
		t.Errorf("the page's audio elements (-want +got):\n%s", diff)
	}
	for who, r := range ears {
		n := waitCount(t, r, "alice", 30, 10*time.Second)
		time.Sleep(500 * time.Millisecond)
		p := audiotest.Power(r.heard())
		if p <= 0 {
			t.Errorf("%s hears silence from the page", who)
		}
		t.Logf("%s: %d packets from the page, power %.1f dB", who, n, audiotest.DB(p))
	}
	b.must(`window.termcall.kit$('#hangup').click()`)
	b.waitEvent("CALLING_END", wait)
}

// TestBrowserTabClose: closing the page's tab mid-call hangs up at once
// (pagehide → hangup + logout): bob sees alice leave with reason hangup
// long before the server's grace period would have removed her.
func TestBrowserTabClose(t *testing.T) {
	needBrowser(t)
	e := newEnv(t, func(c *server.Config) { c.DevLogin = true }, withGrace(30*time.Second))
	e.users("alice", "bob")
	root := newBrowser(t, 40*time.Second, "about:blank")
	b := root.tab(e.url + "/?user=alice&autoAccept=1")
	b.waitJS("logged in", "window.termcall && window.termcall.loggedIn", 10*time.Second)
	bob := e.login("bob")
	bob.withTone(t, 440)
	info := bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "alice"})
	b.waitAudio(20, 10*time.Second)

	start := time.Now()
	if err := chromedp.Cancel(b.ctx); err != nil {
		t.Fatalf("close the tab: %v", err)
	}
	got := bob.rec.take(2, 5*time.Second)
	t.Logf("bob after the tab closed (%v): %s", time.Since(start).Round(time.Millisecond), names(got))
	want := []engine.Event{engine.UserLeave{CallID: info.CallID, UserID: "alice"}, end(info, engine.RoleCaller, "alice", engine.ReasonHangup)}
	if diff := cmp.Diff(want, got, ignoreTotalTime); diff != "" {
		t.Errorf("bob's events after alice's tab closed (-want +got):\n%s", diff)
	}
}

// TestBrowserMessages: the page's wording for a wrong userSig, a kick
// (another login of the same user), and a microphone that is refused (the
// call still connects and the page hears bob).
func TestBrowserMessages(t *testing.T) {
	needBrowser(t)
	e := newEnv(t, func(c *server.Config) { c.DevLogin = true })
	e.users("alice", "bob")
	b := newBrowser(t, 50*time.Second, e.url+"/")
	// A wrong userSig.
	b.must(`(document.getElementById('user-id').value = 'alice', document.getElementById('sdkappid').value = '` + fmt.Sprint(appID) + `',
		document.getElementById('user-sig').value = 'bm90IGEgc2ln', document.getElementById('login-btn').click())`)
	b.waitJS("wrong userSig message", `window.termcall.noticeKey === 'msg.badsig' && !document.getElementById('notice').hidden`, wait)
	// A userSig of another user.
	b.must(fmt.Sprintf(`(document.getElementById('user-sig').value = %q, document.getElementById('login-btn').click())`, e.sig("carol", time.Hour)))
	b.waitJS("other user's userSig message", `window.termcall.noticeKey === 'msg.sigother'`, wait)
	// An expired userSig.
	old := e.sig("alice", time.Second)
	time.Sleep(1100 * time.Millisecond)
	b.must(fmt.Sprintf(`(document.getElementById('user-sig').value = %q, document.getElementById('login-btn').click())`, old))
	b.waitJS("expired userSig message", `window.termcall.noticeKey === 'msg.sigold'`, wait)
	var msg string
	_ = b.eval(`window.termcall.notice`, &msg)
	t.Logf("expired: %q", msg)

	// The microphone is refused: bob's call connects anyway, listen-only.
	b.must(fmt.Sprintf(`(document.getElementById('user-sig').value = %q, document.getElementById('login-btn').click())`, e.sig("alice", time.Hour)))
	b.waitJS("logged in", "window.termcall.loggedIn && window.termcall.notice === ''", wait)
	b.must(`(navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError')), window.termcall.autoAccept = true)`)
	bob := e.login("bob")
	bobEar := bob.withTone(t, 440)
	bob.rec.mu.Lock()
	bob.rec.media = true
	bob.rec.mu.Unlock()
	info := bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	b.waitJS("denied message", `window.termcall.noticeKey === 'msg.micdenied'`, wait)
	b.waitEvent("ON_CALL_BEGIN", wait)
	n := b.waitAudio(30, 10*time.Second)
	_ = b.eval(`window.termcall.notice`, &msg)
	t.Logf("microphone denied: %q; %d packets from bob at the page, %d from alice at bob", msg, n, bobEar.count("alice"))
	waitFor(t, bob, func(ev engine.Event) bool {
		a, ok := ev.(engine.UserAudioAvailable)
		return ok && a.UserID == "alice" && !a.IsAudioAvailable
	})
	bob.must("Hangup", bob.Hangup(ctx(t)))
	if p := b.waitEvent("CALLING_END", wait); p["callId"] != info.CallID {
		t.Errorf("CALLING_END %v, want %s", p, info.CallID)
	}

	// Another login of alice kicks the page out.
	e.login("alice")
	b.waitJS("kicked message", `window.termcall.noticeKey === 'msg.kicked' && !document.getElementById('login-view').hidden`, wait)
	_ = b.eval(`window.termcall.notice`, &msg)
	t.Logf("kicked: %q", msg)
}
