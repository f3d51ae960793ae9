package e2e

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
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
	waitUntil(t, "2 SFU peers", func() bool { return e.metric(t, "termcall_sfu_peers") == 2 })
	// 20 ms Opus frames both ways: well over 50 packets a second.
	waitUntil(t, "100 packets forwarded", func() bool { return e.metric(t, "termcall_sfu_rtp_packets_forwarded_total") >= 100 })
	if b := e.metric(t, "termcall_sfu_rtp_forwarded_bytes_total"); b < 100*12 {
		t.Errorf("forwarded bytes %v for 100+ packets", b)
	}
	if n := e.metric(t, `termcall_calls_active{media_type="audio",scene="single"}`); n != 1 {
		t.Errorf("active 1v1 audio calls %v, want 1", n)
	}

	alice.must("Hangup", alice.Hangup(ctx(t)))
	bob.rec.take(2, wait)
	waitUntil(t, "no SFU peers", func() bool { return e.metric(t, "termcall_sfu_peers") == 0 })
	before := e.metric(t, "termcall_sfu_rtp_packets_forwarded_total")
	time.Sleep(300 * time.Millisecond)
	if after := e.metric(t, "termcall_sfu_rtp_packets_forwarded_total"); after != before {
		t.Errorf("forwarded packets still rising after the call: %v -> %v", before, after)
	}
	if n := e.metric(t, `termcall_calls_ended_total{answered="true",media_type="audio",reason="hangup",scene="single"}`); n != 1 {
		t.Errorf("ended calls by hangup %v, want 1", n)
	}
}
