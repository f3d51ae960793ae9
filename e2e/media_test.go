package e2e

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
)

// ear is a client's audio: a tone source for its uplink and a Downlink
// played out by a 20 ms clock into memory, as a speaker would.
type ear struct {
	down *audio.Downlink
	up   *audio.Uplink

	mu      sync.Mutex
	pcm     []int16
	packets map[string]int       // RTP packets received per remote user
	first   map[string]time.Time // when the first of them arrived
	stop    chan struct{}
	done    chan struct{}
}

func (r *ear) WriteRTP(userID string, pkt *rtp.Packet) {
	r.mu.Lock()
	r.packets[userID]++
	if r.first[userID].IsZero() {
		r.first[userID] = time.Now()
	}
	r.mu.Unlock()
	r.down.WriteRTP(userID, pkt)
}

// firstPacket waits up to d for a packet from user and tells when the
// first one arrived (zero: none).
func (r *ear) firstPacket(user string, d time.Duration) time.Time {
	for end := time.Now().Add(d); ; time.Sleep(5 * time.Millisecond) {
		r.mu.Lock()
		at := r.first[user]
		r.mu.Unlock()
		if !at.IsZero() || time.Now().After(end) {
			return at
		}
	}
}

// forget clears what the ear knows of user's packets (for a next call).
func (r *ear) forget(user string) {
	r.mu.Lock()
	delete(r.first, user)
	r.packets[user] = 0
	r.mu.Unlock()
}

func (r *ear) RemoveUser(userID string) { r.down.RemoveUser(userID) }

func (r *ear) count(user string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.packets[user]
}

// heard returns what was played out since the last call.
func (r *ear) heard() []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.pcm
	r.pcm = nil
	return out
}

// withTone gives the client a tone on its uplink and an ear.
// earCatchUp is how many late frames an ear plays at once (100 ms).
const earCatchUp = 5

func (c *client) withTone(t *testing.T, hz int) *ear {
	t.Helper()
	src, err := audio.Open(fmt.Sprintf("tone:%d", hz))
	if err != nil {
		t.Fatal(err)
	}
	up, err := audio.NewSourceUplink(src)
	if err != nil {
		t.Fatal(err)
	}
	r := &ear{down: audio.NewDownlink(), up: up, packets: map[string]int{}, first: map[string]time.Time{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		// The ear plays as a sound card does: by the clock, 20 ms a
		// frame. A tick that comes late (or that the ticker dropped on a
		// busy machine) is caught up with the frames due meanwhile, up to
		// earCatchUp at once; further behind, the time is skipped, as a
		// device that underran plays on from now.
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		frame := make([]int16, audio.FrameSamples)
		start, played := time.Now(), 0
		for {
			select {
			case <-r.stop:
				return
			case <-tick.C:
				due := int(time.Since(start) / (20 * time.Millisecond))
				if due-played > earCatchUp {
					played = due - earCatchUp
				}
				for ; played < due; played++ {
					r.down.Fill(frame)
					r.mu.Lock()
					r.pcm = append(r.pcm, frame...)
					r.mu.Unlock()
				}
			}
		}
	}()
	t.Cleanup(func() { close(r.stop); <-r.done; up.Close() })
	c.SetAudio(up, r)
	return r
}

// tonePower is the power of hz in pcm relative to the whole signal's,
// summed over 100 ms blocks. One Goertzel filter over the whole signal
// would be coherent over seconds: a single phase jump (a frame concealed,
// skipped to cut the delay, or lost) could cancel a tone that plays clearly
// on either side of it, as a listener hears it. 100 ms blocks keep the
// filter narrow enough (10 Hz) to tell the tests' tones, 220 Hz apart,
// from each other.
func tonePower(pcm []int16, hz float64) float64 {
	const block = audio.SampleRate / 10
	var tone, all float64
	for len(pcm) > 0 {
		b := pcm[:min(block, len(pcm))]
		pcm = pcm[len(b):]
		n := float64(len(b))
		tone += audiotest.Goertzel(b, audio.SampleRate, hz) * n
		all += audiotest.Power(b) * n
	}
	if all == 0 {
		return 0
	}
	return tone / all
}

// TestAudio1v1: alice's 440 Hz reaches bob and bob's 660 Hz reaches alice,
// through the server's SFU; nothing flows while bob's phone rings.
func TestAudio1v1(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	aliceEar, bobEar := alice.withTone(t, 440), bob.withTone(t, 660)

	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(received(info, "alice", "bob", ""))
	time.Sleep(time.Second) // both media transports are up while ringing
	if n, m := bobEar.count("alice"), aliceEar.count("bob"); n != 0 || m != 0 {
		t.Fatalf("while ringing: bob got %d packets from alice, alice %d from bob; want none", n, m)
	}
	bobEar.heard()
	aliceEar.heard()
	bob.must("Accept", bob.Accept(ctx(t)))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	time.Sleep(2 * time.Second)
	heardByBob, heardByAlice := bobEar.heard(), aliceEar.heard()
	if f := audiotest.ToneFreq(heardByBob, audio.SampleRate); f < 435 || f > 445 {
		t.Errorf("bob heard %.1f Hz, want 440", f)
	}
	if f := audiotest.ToneFreq(heardByAlice, audio.SampleRate); f < 655 || f > 665 {
		t.Errorf("alice heard %.1f Hz, want 660", f)
	}
	if p := tonePower(heardByBob, 660); p > 0.01 {
		t.Errorf("bob hears his own tone (relative power %.3f)", p)
	}

	// After alice hangs up nothing of hers arrives.
	alice.must("Hangup", alice.Hangup(ctx(t)))
	bob.rec.take(2, wait)
	time.Sleep(300 * time.Millisecond)
	before := bobEar.count("alice")
	time.Sleep(500 * time.Millisecond)
	if after := bobEar.count("alice"); after != before {
		t.Errorf("bob got %d packets from alice after she hung up", after-before)
	}
}

// TestAudioAtInstantAnswer: when the callee accepts the moment it is
// invited, while both media transports are still connecting, audio flows
// both ways within a few tens of milliseconds. With the server as an
// ICE-lite agent it could not start before pion's next connectivity-check
// tick, 200 ms after the first check (docs/performance.md, "Media at
// answer"). The bound is loose for a busy machine; the best of three calls
// is judged, and before the fix no call came in under 200 ms.
func TestAudioAtInstantAnswer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	aliceEar, bobEar := alice.withTone(t, 440), bob.withTone(t, 660)
	const bound = 120 * time.Millisecond
	best := [2]time.Duration{time.Hour, time.Hour}
	for i := range 3 {
		aliceEar.forget("bob")
		bobEar.forget("alice")
		info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
		bob.expect(received(info, "alice", "bob", ""))
		bob.must("Accept", bob.Accept(ctx(t)))
		accepted := time.Now()
		alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
		toBob, toAlice := bobEar.firstPacket("alice", wait), aliceEar.firstPacket("bob", wait)
		if toBob.IsZero() || toAlice.IsZero() {
			t.Fatalf("call %d: no audio (alice->bob at %v, bob->alice at %v)", i+1, toBob, toAlice)
		}
		dBob, dAlice := toBob.Sub(accepted), toAlice.Sub(accepted)
		t.Logf("call %d: accept -> first packet at bob %v, at alice %v", i+1, dBob, dAlice)
		best[0], best[1] = min(best[0], dBob), min(best[1], dAlice)
		alice.must("Hangup", alice.Hangup(ctx(t)))
		for _, c := range []*client{alice, bob} {
			for end := false; !end; {
				evs := c.rec.take(1, wait)
				if len(evs) == 0 {
					t.Fatalf("call %d: %s got no CallEnd", i+1, c.id)
				}
				_, end = evs[0].(engine.CallEnd)
			}
		}
	}
	if best[0] > bound || best[1] > bound {
		t.Errorf("accept -> first audio packet, best of 3: at bob %v, at alice %v; want <= %v", best[0], best[1], bound)
	}
}

// checkEachHearsTheOthers waits until each ear has packets from the
// others, then checks that in 1.5 s of what it hears each hears the
// others' tones and not its own.
func checkEachHearsTheOthers(t *testing.T, ears map[string]*ear, tones map[string]int) {
	t.Helper()
	testutil.WithTimeout(t, func() string {
		for who, r := range ears {
			for other := range tones {
				if other != who && r.count(other) < 25 {
					return fmt.Sprintf("%s got %d packets from %s", who, r.count(other), other)
				}
			}
		}
		return ""
	}, 15*time.Second)
	time.Sleep(200 * time.Millisecond) // past the jitter buffers' start
	for _, r := range ears {
		r.heard()
	}
	time.Sleep(1500 * time.Millisecond)
	for who, r := range ears {
		pcm := r.heard()
		for other, hz := range tones {
			p := tonePower(pcm, float64(hz))
			if other == who && p > 0.01 {
				t.Errorf("%s hears its own %d Hz (relative power %.3f)", who, hz, p)
			}
			if other != who && p < 0.1 {
				t.Errorf("%s does not hear %s's %d Hz (relative power %.3f)", who, other, hz, p)
			}
		}
	}
}

// TestAudioGroupOfThree: each participant hears the other two tones and
// not its own; the volume events name who speaks.
func TestAudioGroupOfThree(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.group("trio", "alice", "bob", "carol", "dave")
	alice, bob, carol := e.login("alice"), e.login("bob"), e.login("carol")
	tones := map[string]int{"alice": 440, "bob": 660, "carol": 880}
	ears := map[string]*ear{}
	vols := &volumes{max: map[string]int{}}
	for _, c := range []*client{alice, bob, carol} {
		ears[c.id] = c.withTone(t, tones[c.id])
	}
	alice.AddObserver(vols)
	info := alice.mustGroupCall("trio", "bob", "carol")
	for _, c := range []*client{bob, carol} {
		c.rec.take(1, wait)
		c.must("Accept", c.Accept(ctx(t)))
	}
	// Measure once everyone receives the other two (renegotiation done).
	checkEachHearsTheOthers(t, ears, tones)
	for _, u := range []string{"alice", "bob", "carol"} {
		if v := vols.get(u); v < 30 {
			t.Errorf("alice's volume events: %s peaked at %d, want a speaking level", u, v)
		}
	}

	// carol leaves: nothing of hers reaches the others any more.
	carol.must("Hangup", carol.Hangup(ctx(t)))
	time.Sleep(300 * time.Millisecond)
	before := ears["alice"].count("carol")
	time.Sleep(500 * time.Millisecond)
	if after := ears["alice"].count("carol"); after != before {
		t.Errorf("alice got %d packets from carol after she left", after-before)
	}
	// A member who never joined hears nothing of the call.
	dave := e.login("dave")
	daveEar := dave.withTone(t, 1000)
	_, err := dave.Join(ctx(t), info.CallID)
	dave.must("Join", err)
	time.Sleep(1500 * time.Millisecond)
	if n := daveEar.count("carol"); n != 0 {
		t.Errorf("dave got %d packets from carol, who left before he joined", n)
	}
	if n := daveEar.count("alice"); n == 0 {
		t.Error("dave joined but hears nothing from alice")
	}
}

type volumes struct {
	mu  sync.Mutex
	max map[string]int
}

func (v *volumes) OnEvent(ev engine.Event) {
	if vc, ok := ev.(engine.UserVoiceVolumeChanged); ok {
		v.mu.Lock()
		for u, x := range vc.VolumeMap {
			v.max[u] = max(v.max[u], x)
		}
		v.mu.Unlock()
	}
}

func (v *volumes) get(u string) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.max[u]
}

// TestAudioUnderLoss: with 10% of the RTP towards the clients lost, at
// least 95% of bob's frames play without concealment (FEC and NACK
// retransmissions recover the rest; without them about 90% would); at 30%
// loss the call stays up and audio still flows. The bound leaves room for a
// busy machine, where a few retransmissions miss their playout time: 20 runs
// on a loaded 2-core box gave 97.5-100%.
func TestAudioUnderLoss(t *testing.T) {
	t.Parallel()
	// The media runs on a vnet LAN whose router drops 10% of the RTP
	// towards the clients.
	l := newLAN(t)
	l.setLoss(towardsClients, 0.10)
	e := newEnv(t, l.media)
	alice, bob := e.login("alice", l.onLAN), e.login("bob", l.onLAN)
	alice.withTone(t, 440)
	bobEar := bob.withTone(t, 660)
	connect1v1(t, alice, bob)
	// Judge 4 s of audio (200 frames) after a first second (50 frames)
	// that lets bob's jitter buffer settle, counted in frames played, not
	// in wall-clock time: bob's playout ticks every 20 ms, and a busy
	// machine skips ticks.
	played := func(s audio.JitterStats) uint64 { return s.Normal + s.FEC + s.Concealed }
	var s0, s1 audio.JitterStats
	testutil.Until(t, "bob to play a second of alice's audio", 3*wait, func() bool {
		var ok bool
		s0, ok = bobEar.down.Stats("alice")
		return ok && played(s0) >= 50
	})
	testutil.WithTimeout(t, func() string {
		s1, _ = bobEar.down.Stats("alice")
		if n := played(s1) - played(s0); n < 200 {
			return fmt.Sprintf("bob played %d of 200 frames of alice's audio", n)
		}
		return ""
	}, 4*wait)
	sent, lost := l.counts(towardsClients)
	if sent < 200 || float64(lost)/float64(sent) < 0.07 {
		t.Fatalf("the network passed %d RTP packets and dropped %d: the media did not go through it at 10%% loss", sent, lost)
	}
	normal, fec, concealed := s1.Normal-s0.Normal, s1.FEC-s0.FEC, s1.Concealed-s0.Concealed
	total := normal + fec + concealed
	if total < 150 {
		t.Fatalf("bob played %d frames in 4 s, want about 200", total)
	}
	clean := float64(normal+fec) / float64(total)
	t.Logf("10%% loss (%d of %d RTP packets dropped): %d frames: %d normal, %d FEC, %d concealed (%.1f%% without concealment)", lost, sent, total, normal, fec, concealed, 100*clean)
	if clean < 0.95 {
		t.Errorf("at 10%% loss %.1f%% of frames played without concealment, want >= 95%%", 100*clean)
	}

	l.setLoss(towardsClients, 0.30)
	time.Sleep(3 * time.Second)
	if st := bob.Status(); st != engine.StatusAccept {
		t.Fatalf("at 30%% loss the call dropped: bob's status %v", st)
	}
	before := bobEar.count("alice")
	testutil.WithTimeout(t, func() string {
		if n := bobEar.count("alice") - before; n < 20 {
			return fmt.Sprintf("at 30%% loss bob got %d packets from alice, want 20: audio to keep flowing", n)
		}
		return ""
	}, wait)
}

// flakySource is a microphone that stops working for a while.
type flakySource struct {
	up     *audio.Uplink
	mu     sync.Mutex
	broken bool
}

func (f *flakySource) ReadOpusFrame(ctx context.Context) ([]byte, int, error) {
	f.mu.Lock()
	broken := f.broken
	f.mu.Unlock()
	if broken {
		time.Sleep(20 * time.Millisecond)
		return nil, 0, errors.New("device unplugged")
	}
	return f.up.ReadOpusFrame(ctx)
}

func (f *flakySource) set(broken bool) {
	f.mu.Lock()
	f.broken = broken
	f.mu.Unlock()
}

// TestMicrophoneDisappears: a failing microphone gives one onError (5007);
// the call stays up and audio comes back when the device does.
func TestMicrophoneDisappears(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	aliceEar := alice.withTone(t, 440)
	bobEar := bob.withTone(t, 660)
	flaky := &flakySource{up: bobEar.up}
	bob.SetAudio(flaky, bobEar)
	connect1v1(t, alice, bob)
	time.Sleep(500 * time.Millisecond)
	flaky.set(true)
	got := bob.rec.take(1, wait)
	if len(got) != 1 || got[0] != (engine.ErrorEvent{Code: 5007, Message: "audio source: device unplugged"}) {
		t.Fatalf("bob's events after the mic failed: %+v", got)
	}
	time.Sleep(500 * time.Millisecond)
	bob.quiet() // reported once, not per frame
	if st := bob.Status(); st != engine.StatusAccept {
		t.Fatalf("bob's call after the mic failed: %v", st)
	}
	before := aliceEar.count("bob")
	time.Sleep(300 * time.Millisecond)
	if n := aliceEar.count("bob") - before; n > 2 {
		t.Errorf("alice got %d packets from bob's broken mic", n)
	}
	flaky.set(false)
	testutil.WithTimeout(t, func() string {
		if n := aliceEar.count("bob") - before; n < 10 {
			return fmt.Sprintf("after the mic came back alice got %d packets from bob, want 10", n)
		}
		return ""
	}, wait)
}

// mediaLog keeps a client's media events of one kind.
type mediaLog struct {
	mu     sync.Mutex
	avail  []engine.UserAudioAvailable
	qualty []engine.UserNetworkQualityChanged
}

func (m *mediaLog) OnEvent(ev engine.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch ev := ev.(type) {
	case engine.UserAudioAvailable:
		m.avail = append(m.avail, ev)
	case engine.UserNetworkQualityChanged:
		m.qualty = append(m.qualty, ev)
	}
}

func (m *mediaLog) availability() []engine.UserAudioAvailable {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]engine.UserAudioAvailable(nil), m.avail...)
}

// TestMicrophoneOnOff: closing and opening the microphone reaches the other
// side as onUserAudioAvailable; network quality is reported for both users.
func TestMicrophoneOnOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	aliceEar := alice.withTone(t, 440)
	bob.withTone(t, 660)
	log := &mediaLog{}
	bob.AddObserver(log)
	info := connect1v1(t, alice, bob)
	testutil.Until(t, "bob learns alice's mic is on", wait, func() bool {
		a := log.availability()
		return len(a) > 0 && a[len(a)-1] == engine.UserAudioAvailable{CallID: info.CallID, UserID: "alice", IsAudioAvailable: true}
	})
	alice.must("CloseMicrophone", alice.CloseMicrophone(ctx(t)))
	testutil.Until(t, "bob learns alice's mic is off", wait, func() bool {
		a := log.availability()
		return a[len(a)-1].IsAudioAvailable == false
	})
	_ = aliceEar
	alice.must("OpenMicrophone", alice.OpenMicrophone(ctx(t)))
	testutil.Until(t, "bob learns alice's mic is on again", wait, func() bool {
		a := log.availability()
		return a[len(a)-1].IsAudioAvailable
	})
	testutil.Until(t, "a network quality report naming both users", wait, func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		for _, q := range log.qualty {
			users := map[string]engine.NetworkQuality{}
			for _, i := range q.NetworkQualityList {
				users[i.UserID] = i.Quality
			}
			if users["bob"] >= 1 && users["bob"] <= 2 && users["alice"] >= 1 && users["alice"] <= 2 {
				return true
			}
		}
		return false
	})
}
