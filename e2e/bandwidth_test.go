package e2e

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/server"
)

// capRelay stands between the clients and the SFU's UDP port and caps each
// client's uplink (client -> server) with a token bucket: rate bytes per
// second, bursts of up to burst bytes, a queue of up to queue bytes behind
// it. An RTP packet that finds the queue full is dropped; other packets
// (STUN, DTLS, RTCP) always queue. The downlink is not limited.
type capRelay struct {
	ln     *net.UDPConn
	target *net.UDPAddr
	rate   float64 // bytes/s
	burst  float64
	queue  int
	start  time.Time

	mu     sync.Mutex
	closed bool
	peers  map[string]*relayPeer
	bins   []relayBin // RTP towards the server, per relayBinWidth since start
	wg     sync.WaitGroup
}

type relayBin struct{ passed, dropped, bytes int }

const relayBinWidth = 50 * time.Millisecond

type relayPeer struct {
	conn   *net.UDPConn
	q      chan []byte
	queued int // bytes in q; guarded by capRelay.mu
}

func newCapRelay(t *testing.T, listen string, target *net.UDPAddr, kbps, queueBytes int) *capRelay {
	t.Helper()
	la, _ := net.ResolveUDPAddr("udp4", listen)
	ln, err := net.ListenUDP("udp4", la)
	if err != nil {
		t.Skipf("cannot bind the relay on %s: %v", listen, err)
	}
	r := &capRelay{ln: ln, target: target, rate: float64(kbps) * 1000 / 8, burst: 4 * 1500, queue: queueBytes,
		start: time.Now(), peers: map[string]*relayPeer{}}
	r.wg.Add(1)
	go r.up()
	t.Cleanup(func() {
		ln.Close()
		r.mu.Lock()
		r.closed = true
		for _, p := range r.peers {
			p.conn.Close()
			close(p.q)
		}
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

// isRTP: RTP, not RTCP (RFC 5761 payload types 192..223), STUN or DTLS.
func isRTP(b []byte) bool {
	return len(b) >= 2 && b[0] >= 128 && b[0] <= 191 && (b[1] < 192 || b[1] > 223)
}

func (r *capRelay) binLocked(now time.Time) *relayBin {
	i := int(now.Sub(r.start) / relayBinWidth)
	for len(r.bins) <= i {
		r.bins = append(r.bins, relayBin{})
	}
	return &r.bins[i]
}

// window sums the RTP counts of [from, to) (times since start).
func (r *capRelay) window(from, to time.Duration) (b relayBin) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := int(from / relayBinWidth); i < int(to/relayBinWidth) && i < len(r.bins); i++ {
		b.passed += r.bins[i].passed
		b.dropped += r.bins[i].dropped
		b.bytes += r.bins[i].bytes
	}
	return b
}

func (r *capRelay) up() {
	defer r.wg.Done()
	for {
		buf := make([]byte, 1500)
		n, from, err := r.ln.ReadFromUDP(buf)
		if err != nil {
			return
		}
		pkt := buf[:n]
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return
		}
		p := r.peers[from.String()]
		if p == nil {
			c, err := net.DialUDP("udp4", nil, r.target)
			if err != nil {
				r.mu.Unlock()
				continue
			}
			p = &relayPeer{conn: c, q: make(chan []byte, 4096)}
			r.peers[from.String()] = p
			r.wg.Add(2)
			go r.shape(p)
			go r.down(p, from)
		}
		rtp := isRTP(pkt)
		if (rtp && p.queued+n > r.queue) || len(p.q) == cap(p.q) {
			if rtp {
				r.binLocked(time.Now()).dropped++
			}
			r.mu.Unlock()
			continue
		}
		p.queued += n
		p.q <- pkt
		r.mu.Unlock()
	}
}

// shape sends a peer's queued packets to the server at the capped rate.
func (r *capRelay) shape(p *relayPeer) {
	defer r.wg.Done()
	tokens, last := r.burst, time.Now()
	for pkt := range p.q {
		n := float64(len(pkt))
		for {
			now := time.Now()
			tokens = min(tokens+now.Sub(last).Seconds()*r.rate, r.burst)
			last = now
			if tokens >= n {
				break
			}
			time.Sleep(time.Duration((n - tokens) / r.rate * float64(time.Second)))
		}
		tokens -= n
		p.conn.Write(pkt) //nolint:errcheck
		r.mu.Lock()
		p.queued -= len(pkt)
		if isRTP(pkt) {
			b := r.binLocked(time.Now())
			b.passed++
			b.bytes += len(pkt)
		}
		r.mu.Unlock()
	}
}

func (r *capRelay) down(p *relayPeer, client *net.UDPAddr) {
	defer r.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, err := p.conn.Read(buf)
		if err != nil {
			return
		}
		r.ln.WriteToUDP(buf[:n], client) //nolint:errcheck
	}
}

// rateSource is a VideoSource that sends frames of its bitrate's size at
// 15 fps (noise to the decoder: nobody decodes them) and records the
// bitrates the engine sets.
type rateSource struct {
	tick *time.Ticker

	mu   sync.Mutex
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
	s.mu.Lock()
	size, key := s.kbps*1000/8/15, s.key
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
// down below the cap within seconds, so that the relay stops dropping
// her packets.
func TestUplinkCongestionControl(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10 s call through a rate-capped relay")
	}
	const (
		capKbps    = 400
		queueBytes = 25000 // 0.5 s at the cap
		duration   = 10 * time.Second
		settle     = 8 * time.Second
	)
	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := probe.LocalAddr().(*net.UDPAddr).Port
	probe.Close()
	relay := newCapRelay(t, fmt.Sprintf("127.0.0.2:%d", port), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, capKbps, queueBytes)
	// ICE-lite: media only through the announced address (the relay).
	e := newEnv(t, func(c *server.Config) { c.MediaPort, c.PublicIP, c.ICELite = port, "127.0.0.2", true })
	alice, bob := e.login("alice"), e.login("bob")
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
	at := func() time.Duration { return time.Since(relay.start) }
	a0 := at()

	var timeline strings.Builder
	var applied []int // the source's bitrate at each sample after settle
	step := 250 * time.Millisecond
	for i := 1; i <= int(duration/step); i++ {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * step)))
		now := at()
		w := relay.window(now-step, now)
		kbps := src.bitrate()
		fmt.Fprintf(&timeline, "\n  %4.1fs estimate %4d kbps, video %3d kbps, relay passed %3d dropped %3d RTP (%3d kbps)",
			time.Since(t0).Seconds(), alice.UplinkEstimateKbps(), kbps, w.passed, w.dropped, w.bytes*8/int(step.Milliseconds()))
		if time.Duration(i)*step > settle {
			applied = append(applied, kbps)
		}
	}
	t.Logf("uplink capped at %d kbps, %d B queue:%s", capKbps, queueBytes, timeline.String())

	if sets := src.setsSince(t0); len(sets) == 0 {
		t.Fatal("the engine never set the source's bitrate")
	}
	total := relay.window(a0, at())
	if total.passed < 300 {
		t.Fatalf("the relay passed %d RTP packets in %v: the media did not go through it", total.passed, duration)
	}
	if total.dropped == 0 {
		t.Errorf("the relay never dropped a packet: alice's 600 kbps did not hit the %d kbps cap", capKbps)
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
	last := relay.window(at()-2*time.Second, at())
	rate := float64(last.dropped) / float64(max(last.passed+last.dropped, 1))
	t.Logf("last 2 s: %d RTP packets passed, %d dropped (%.1f%%); whole call: %d passed, %d dropped",
		last.passed, last.dropped, 100*rate, total.passed, total.dropped)
	if rate >= 0.05 {
		t.Errorf("the relay dropped %.1f%% of alice's RTP in the last 2 s; want < 5%%", 100*rate)
	}
	alice.must("Hangup", alice.Hangup(ctx(t)))
}
