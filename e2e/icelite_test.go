package e2e

import (
	"fmt"
	"testing"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/server"
)

// TestAudioICELite: with the server's SFU as an ICE-lite agent
// (server.Config.ICELite: media only through the address it announces)
// alice's 440 Hz reaches bob and bob's 660 Hz reaches alice. The SFU's
// side of it (the offer says a=ice-lite, the devices control ICE):
// server/sfu TestICELite.
func TestAudioICELite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *server.Config) { c.ICELite = true })
	alice, bob := e.login("alice"), e.login("bob")
	aliceEar, bobEar := alice.withTone(t, 440), bob.withTone(t, 660)

	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(received(info, "alice", "bob", ""))
	bob.must("Accept", bob.Accept(ctx(t)))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	// A second of each tone, heard once the first packets came.
	testutil.Until(t, "audio both ways", 3*wait, func() bool { return bobEar.count("alice") > 0 && aliceEar.count("bob") > 0 })
	bobEar.heard()
	aliceEar.heard()
	var heardByBob, heardByAlice []int16
	testutil.WithTimeout(t, func() string {
		heardByBob, heardByAlice = append(heardByBob, bobEar.heard()...), append(heardByAlice, aliceEar.heard()...)
		if len(heardByBob) >= audio.SampleRate && len(heardByAlice) >= audio.SampleRate {
			return ""
		}
		return fmt.Sprintf("played out %d samples at bob, %d at alice; want a second each", len(heardByBob), len(heardByAlice))
	}, wait)
	if f := audiotest.ToneFreq(heardByBob, audio.SampleRate); f < 435 || f > 445 {
		t.Errorf("bob heard %.1f Hz, want 440", f)
	}
	if f := audiotest.ToneFreq(heardByAlice, audio.SampleRate); f < 655 || f > 665 {
		t.Errorf("alice heard %.1f Hz, want 660", f)
	}
	alice.must("Hangup", alice.Hangup(ctx(t)))
}
