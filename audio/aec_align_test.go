package audio

import (
	"os"
	"testing"

	"github.com/termcall/termcall/audio/audiotest"
)

// TestEchoAlignCompare (TERMCALL_AEC_COMPARE=1; about 3 minutes): the
// WebRTC settings of docs/audio.md "Echo cancellation" on PulseAudio,
// alternating in the same run: delay-agnostic mode (as shipped), the bulk
// delay estimate (aec_delay.go) with the extended filter on and off, and
// each with the reference's offset following its lowest measure for the
// first 100 ms (refFollowLow). A measurement, not a check: it logs the
// per-window figures, the module's ERLE and when the start-up suppression
// ended.
func TestEchoAlignCompare(t *testing.T) {
	if os.Getenv("TERMCALL_AEC_COMPARE") == "" {
		t.Skip("a measurement: set TERMCALL_AEC_COMPARE=1")
	}
	needWebRTC(t)
	audiotest.StartPulse(t)
	defer func(a, x, l bool) { webrtcAligned, webrtcExtended, refFollowLow = a, x, l }(webrtcAligned, webrtcExtended, refFollowLow)
	settings := []struct {
		name                   string
		aligned, extended, low bool
	}{{"agnostic+extended (shipped)", false, true, false}, {"aligned+extended", true, true, false},
		{"aligned, normal filter", true, false, false}, {"agnostic+extended, offset follows the low", false, true, true},
		{"aligned+extended, offset follows the low", true, true, true}}
	// TERMCALL_AEC_COMPARE=first-last: only the shipped setting and the
	// last, the late scene only, three rounds
	rounds, early := 2, true
	if os.Getenv("TERMCALL_AEC_COMPARE") == "first-last" {
		settings = []struct {
			name                   string
			aligned, extended, low bool
		}{settings[0], settings[len(settings)-1]}
		rounds, early = 3, false
	}
	for round := range rounds {
		for _, s := range settings {
			webrtcAligned, webrtcExtended, refFollowLow = s.aligned, s.extended, s.low
			r := pulseEcho(t, echoWebRTC, sceneLate)
			t.Logf("round %d, %s, late: %v (reference jumps %d)", round, s.name, r, r.resyncs)
			if !early {
				continue
			}
			e := pulseEcho(t, echoWebRTC, sceneEarly)
			t.Logf("round %d, %s, early double talk: %v (reference jumps %d)", round, s.name, e, e.resyncs)
		}
	}
}
