package cmd_test

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/internal/testutil"
)

// TestPlayingBotBothWays: a bot that only plays (it decodes nothing; on
// Linux it reads the network on its send clock) and a caller that plays
// and records still hear each other: the caller records the bot's
// 1000 Hz for about the whole call, and the bot reports the caller's
// voice level, which it takes from the packets it receives.
func TestPlayingBotBothWays(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	bot := startBot(t, srv, "lightbob", "--play", "tone:1000", "--volume-events")
	out := filepath.Join(t.TempDir(), "heard.wav")
	r := run(t, srv, "call", "lightbob", "--user", "lightalice", "--play", "tone:440",
		"--no-audio-device", "--duration", "3s", "--record", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	pcm := waitFinished(t, out)
	if f := audiotest.ToneFreq(pcm, audio.SampleRate); math.Abs(f-1000) > 5 {
		t.Errorf("the caller heard %.1f Hz, want 1000", f)
	}
	if d := loudSeconds(pcm, 1000); d < 2.5 {
		t.Errorf("the caller heard the bot for %.2f s of a 3 s call", d)
	}
	// The bot's volume events: the caller's level while the call was up.
	loud := 0
	testutil.Poll(10*time.Second, func() bool {
		for _, l := range strings.Split(bot.out.String(), "\n") {
			var ev struct {
				Event     string         `json:"event"`
				VolumeMap map[string]int `json:"volumeMap"`
			}
			if json.Unmarshal([]byte(l), &ev) == nil && ev.Event == "onUserVoiceVolumeChanged" && ev.VolumeMap["lightalice"] > 50 {
				loud++
			}
		}
		return loud > 0
	})
	// About 3 a second: a 3 s call gives about 9.
	if loud < 5 {
		t.Errorf("the bot reported the caller's voice in %d volume events, want about 9", loud)
	}
}
