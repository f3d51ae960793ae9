package sfu

import (
	"strings"
	"sync"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/internal/testutil"
)

// TestICELite: with Config.ICELite the SFU is an ICE-lite agent (its offer
// says a=ice-lite, so each device is the controlling agent and nominates
// the pair) and audio flows both ways; by default it is a full agent that
// controls. The engines' side of it: e2e TestAudioICELite.
func TestICELite(t *testing.T) {
	for _, c := range []struct {
		lite     bool
		wantRole webrtc.ICERole // the devices'
	}{
		{true, webrtc.ICERoleControlling},
		{false, webrtc.ICERoleControlled},
	} {
		s := newTestSFU(t, func(cfg *Config) { cfg.ICELite = c.lite })
		api := clientAPI(t)
		var mu sync.Mutex
		var offers []string
		keep := withBeforeAnswer(func(sdp string) { mu.Lock(); offers = append(offers, sdp); mu.Unlock() })
		a := newClient(t, s, api, "call1", "alice", "devA", keep)
		b := newClient(t, s, api, "call1", "bob", "devB", keep)
		s.SetConnected("call1", "devA", true)
		s.SetConnected("call1", "devB", true)

		testutil.Until(t, "audio both ways", flowTimeout, func() bool { return a.count("bob") >= 20 && b.count("alice") >= 20 })
		for _, cl := range []*testClient{a, b} {
			if err := cl.err(); err != nil {
				t.Fatalf("lite %v: %s: %v", c.lite, cl.userID, err)
			}
			if role := cl.pc.SCTP().Transport().ICETransport().Role(); role != c.wantRole {
				t.Errorf("lite %v: %s is the %v ICE agent, want %v", c.lite, cl.userID, role, c.wantRole)
			}
			pair, err := cl.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
			if err != nil || pair == nil {
				t.Fatalf("lite %v: %s: no selected candidate pair (%v)", c.lite, cl.userID, err)
			}
			if pair.Remote.Address != "127.0.0.1" || pair.Remote.Typ != webrtc.ICECandidateTypeHost {
				t.Errorf("lite %v: %s: media through %v, want the SFU's announced 127.0.0.1 host candidate", c.lite, cl.userID, pair.Remote)
			}
		}
		mu.Lock()
		for _, sdp := range offers {
			if got := strings.Contains(sdp, "a=ice-lite"); got != c.lite {
				t.Errorf("lite %v: offer says a=ice-lite: %v\n%s", c.lite, got, sdp)
			}
		}
		if len(offers) < 2 {
			t.Errorf("lite %v: %d offers seen, want 2 or more", c.lite, len(offers))
		}
		mu.Unlock()
	}
}
