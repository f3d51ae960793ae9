package e2e

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
)

// metric scrapes the server's /metrics and returns one series' value
// (series as written, e.g. `name{label="v"}`), or -1 when it is absent.
func (e *env) metric(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("bad sample %q", line)
			}
			return v
		}
	}
	return -1
}

// TestMetricsAudioCall: in an audio call the SFU's peers and forwarded
// packets and bytes show on /metrics, and the peers go when it ends.
func TestMetricsAudioCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	alice.withTone(t, 440)
	bob.withTone(t, 660)
	if n := e.metric(t, "termcall_sfu_rtp_packets_forwarded_total"); n != 0 {
		t.Fatalf("forwarded packets before any call: %v, want 0", n)
	}

	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(received(info, "alice", "bob", ""))
	bob.must("Accept", bob.Accept(ctx(t)))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	testutil.Until(t, "2 SFU peers", wait, func() bool { return e.metric(t, "termcall_sfu_peers") == 2 })
	// 20 ms Opus frames both ways: well over 50 packets a second.
	testutil.Until(t, "100 packets forwarded", wait, func() bool { return e.metric(t, "termcall_sfu_rtp_packets_forwarded_total") >= 100 })
	if b := e.metric(t, "termcall_sfu_rtp_forwarded_bytes_total"); b < 100*12 {
		t.Errorf("forwarded bytes %v for 100+ packets", b)
	}
	if n := e.metric(t, `termcall_calls_active{media_type="audio",scene="single"}`); n != 1 {
		t.Errorf("active 1v1 audio calls %v, want 1", n)
	}

	alice.must("Hangup", alice.Hangup(ctx(t)))
	bob.rec.take(2, wait)
	testutil.Until(t, "no SFU peers", wait, func() bool { return e.metric(t, "termcall_sfu_peers") == 0 })
	before := e.metric(t, "termcall_sfu_rtp_packets_forwarded_total")
	time.Sleep(300 * time.Millisecond)
	if after := e.metric(t, "termcall_sfu_rtp_packets_forwarded_total"); after != before {
		t.Errorf("forwarded packets still rising after the call: %v -> %v", before, after)
	}
	if n := e.metric(t, `termcall_calls_ended_total{answered="true",media_type="audio",reason="hangup",scene="single"}`); n != 1 {
		t.Errorf("ended calls by hangup %v, want 1", n)
	}
}

// TestMetricsRTPLoss: RTP lost on the way to the SFU shows in
// termcall_sfu_rtp_packets_lost_total, about as much as was dropped.
func TestMetricsRTPLoss(t *testing.T) {
	t.Parallel()
	// The media runs on a vnet LAN whose router drops 10% of the RTP
	// towards the SFU.
	l := newLAN(t)
	l.setLoss(towardsSFU, 0.10)
	e := newEnv(t, l.media)
	alice, bob := e.login("alice", l.onLAN), e.login("bob", l.onLAN)
	alice.withTone(t, 440)
	bob.withTone(t, 660)
	connect1v1(t, alice, bob)
	testutil.Until(t, "300 packets received", 3*wait, func() bool { return e.metric(t, "termcall_sfu_rtp_packets_received_total") >= 300 })
	alice.must("Hangup", alice.Hangup(ctx(t)))
	testutil.Until(t, "no SFU peers", wait, func() bool { return e.metric(t, "termcall_sfu_peers") == 0 })
	sent, dropped := l.counts(towardsSFU)
	lost := e.metric(t, "termcall_sfu_rtp_packets_lost_total")
	t.Logf("network: %d RTP packets to the SFU, %d dropped; the SFU counted %v lost", sent, dropped, lost)
	if dropped < 20 {
		t.Fatalf("the network dropped %d of %d packets: the media did not go through it", dropped, sent)
	}
	// Retransmissions the SFU asked for are dropped at 10% too and count
	// on the network only; a dropped last packet before the end is no gap.
	if lost < float64(dropped)/2 || lost > float64(dropped) {
		t.Errorf("the SFU counted %v lost of %d dropped", lost, dropped)
	}
}
