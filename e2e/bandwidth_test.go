package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/transport/v5/vnet"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
)

// isRTP: RTP, not RTCP (RFC 5761 payload types 192..223), STUN or DTLS.
func isRTP(b []byte) bool {
	return len(b) >= 2 && b[0] >= 128 && b[0] <= 191 && (b[1] < 192 || b[1] > 223)
}

// rateSource is a VideoSource that sends frames of its bitrate's size at
// 15 fps (noise to the decoder: nobody decodes them) and records the
// bitrates the engine sets. A frame's size follows the time since the
// last one (up to three frames' worth), so that the source keeps its
// bitrate on a busy machine that skips ticks.
type rateSource struct {
	tick *time.Ticker

	mu   sync.Mutex
	last time.Time // when the last frame was read
	kbps int
	key  bool
	sets []bitrateSet
}

type bitrateSet struct {
	at   time.Time
	kbps int
}

func newRateSource(t *testing.T, kbps int) *rateSource {
	t.Helper()
	s := &rateSource{tick: time.NewTicker(time.Second / 15), kbps: kbps, key: true}
	t.Cleanup(s.tick.Stop)
	return s
}

func (s *rateSource) ReadVP8Frame(ctx context.Context) ([]byte, bool, error) {
	select {
	case <-ctx.Done():
		return nil, false, ctx.Err()
	case <-s.tick.C:
	}
	now := time.Now()
	s.mu.Lock()
	gap := time.Second / 15
	if !s.last.IsZero() {
		gap = min(now.Sub(s.last), 3*time.Second/15)
	}
	s.last = now
	size, key := int(float64(s.kbps*1000/8)*gap.Seconds()), s.key
	s.key = false
	s.mu.Unlock()
	frame := make([]byte, size)
	for i := range frame {
		frame[i] = byte(i*7 + 1)
	}
	if key {
		frame[0] = 0x10 // VP8 payload header: show frame, keyframe (bit 0 clear)
	} else {
		frame[0] = 0x11
	}
	return frame, key, nil
}

func (s *rateSource) ForceKeyframe() {
	s.mu.Lock()
	s.key = true
	s.mu.Unlock()
}

func (s *rateSource) SetBitrate(kbps int) {
	s.mu.Lock()
	s.kbps = kbps
	s.sets = append(s.sets, bitrateSet{time.Now(), kbps})
	s.mu.Unlock()
}

func (s *rateSource) bitrate() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kbps
}

func (s *rateSource) setsSince(t time.Time) []bitrateSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []bitrateSet
	for _, b := range s.sets {
		if !b.at.Before(t) {
			out = append(out, b)
		}
	}
	return out
}

// TestUplinkCongestionControl: alice sends 640x480 video (the table's
// 600 kbps) and audio through an uplink capped at 400 kbps with a small
// queue. From the SFU's transport-wide congestion control feedback her
// engine's estimator finds the bottleneck and turns her source's bitrate
// down below the cap within seconds, so that the network stops dropping
// her packets.
func TestUplinkCongestionControl(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10 s call through a rate-capped network")
	}
	const (
		capKbps    = 400
		queueBytes = 25000 // 0.5 s at the cap
		duration   = 10 * time.Second
		settle     = 8 * time.Second
	)
	// The media runs on a vnet LAN; everything towards the SFU passes a
	// token bucket of capKbps with a queue of queueBytes (a packet that
	// finds the queue full is lost). bob only receives, so the cap is
	// alice's uplink.
	l := newShapedLAN(t, vnet.NewTBFQueue(capKbps*1000, 4*1500, queueBytes))
	e := newEnv(t, l.media)
	alice, bob := e.login("alice", l.onLAN), e.login("bob", l.onLAN)
	alice.withTone(t, 440)
	src := newRateSource(t, 600)
	alice.must("SetVideoEncoderParams", alice.SetVideoEncoderParams(engine.VideoEncoderParams{Resolution: engine.Resolution640x480}))
	alice.SetVideo(src, nil)
	alice.must("OpenCamera", alice.OpenCamera(ctx(t), engine.CameraFront))

	info := alice.mustCall("bob", engine.MediaTypeVideo, engine.CallParams{})
	rcv := received(info, "alice", "bob", "")
	rcv.MediaType = engine.MediaTypeVideo
	bob.expect(rcv)
	bob.must("Accept", bob.Accept(ctx(t)))
	t0 := time.Now()
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	at := func() time.Duration { return time.Since(l.start) }
	a0 := at()

	type sample struct {
		at        time.Duration // since l.start
		estimate  int
		kbps      int
		sinceCall time.Duration
	}
	var samples []sample
	var applied []int // the source's bitrate at each sample after settle
	step := 250 * time.Millisecond
	for i := 1; i <= int(duration/step); i++ {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * step)))
		kbps := src.bitrate()
		samples = append(samples, sample{at(), alice.UplinkEstimateKbps(), kbps, time.Since(t0)})
		if time.Duration(i)*step > settle {
			applied = append(applied, kbps)
		}
	}
	end := at()
	// What alice sent up to end has got through the shaper's queue or was
	// lost once a packet sent after end got through (the queue is first in,
	// first out).
	testutil.Until(t, "the shaper to deliver what alice sent after the samples", wait, func() bool { return l.deliveredSince(end) })
	var timeline strings.Builder
	for _, s := range samples {
		w := l.window(s.at-step, s.at)
		fmt.Fprintf(&timeline, "\n  %4.1fs estimate %4d kbps, video %3d kbps, network passed %3d dropped %3d RTP (%3d kbps)",
			s.sinceCall.Seconds(), s.estimate, s.kbps, w.passed, w.dropped, w.bytes*8/int(step.Milliseconds()))
	}
	t.Logf("uplink capped at %d kbps, %d B queue:%s", capKbps, queueBytes, timeline.String())

	if sets := src.setsSince(t0); len(sets) == 0 {
		t.Fatal("the engine never set the source's bitrate")
	}
	total := l.window(a0, end)
	if total.passed < 300 {
		t.Fatalf("the network passed %d RTP packets in %v: the media did not go through it", total.passed, duration)
	}
	// The cap was hit when the shaper dropped packets or queued them: GCC's
	// delay-based estimate backs off as the queue grows, on a busy machine
	// sometimes before the 25 kB queue is full (at 600 kbps into 400 it
	// fills in ~1 s). 150 ms in the queue is ~7.5 kB above the cap's rate.
	if total.dropped == 0 && total.maxQueued < 150*time.Millisecond {
		t.Errorf("the network never dropped a packet and held none for 150 ms (longest %v): alice's 600 kbps did not hit the %d kbps cap", total.maxQueued, capKbps)
	}
	// GCC probes upwards until the queue grows, then backs off to below
	// what got through: a sawtooth around the cap, so look at the mean
	// and keep every sample well below the table's 600 kbps.
	sum, top := 0, 0
	for _, k := range applied {
		sum, top = sum+k, max(top, k)
	}
	mean := sum / max(len(applied), 1)
	t.Logf("video bitrate after %v: mean %d kbps, max %d kbps (samples %v)", settle, mean, top, applied)
	if mean >= capKbps || top >= 550 {
		t.Errorf("after %v alice's video bitrate averages %d kbps, peaks at %d; want a mean below the %d kbps cap and no sample near the table's 600", settle, mean, top, capKbps)
	}
	last := l.window(end-2*time.Second, end)
	rate := float64(last.dropped) / float64(max(last.passed+last.dropped, 1))
	t.Logf("last 2 s: %d RTP packets passed, %d dropped (%.1f%%); whole call: %d passed, %d dropped, longest in the queue %v",
		last.passed, last.dropped, 100*rate, total.passed, total.dropped, total.maxQueued)
	if rate >= 0.05 {
		t.Errorf("the network dropped %.1f%% of alice's RTP in the last 2 s; want < 5%%", 100*rate)
	}
	alice.must("Hangup", alice.Hangup(ctx(t)))
}
