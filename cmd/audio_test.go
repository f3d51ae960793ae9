package cmd_test

import (
	bin "encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/internal/testutil"
)

// These tests run real calls through a real server (pion SFU) with real
// Opus, and no sound card: --no-audio-device and bots play out on a clock.

// loudSeconds is how long pcm holds the tone freq (frames where it is
// within 10 dB of the 0.3 FS tone the sources make).
func loudSeconds(pcm []int16, freq float64) float64 {
	n := 0
	for i := 0; i+audio.FrameSamples <= len(pcm); i += audio.FrameSamples {
		f := pcm[i : i+audio.FrameSamples]
		if audiotest.DB(audiotest.Goertzel(f, audio.SampleRate, freq)) > audiotest.DB(0.3*0.3*32767*32767/2)-10 {
			n++
		}
	}
	return float64(n) * audio.FrameDuration / 1000
}

// waitFinished waits until a WAV file's header has its final size
// (written when the recording is closed) and returns its samples.
func waitFinished(t *testing.T, path string) []int16 {
	t.Helper()
	testutil.WithTimeout(t, func() string {
		b, err := os.ReadFile(path)
		if err == nil && len(b) >= 44 && bin.LittleEndian.Uint32(b[40:44]) > 0 {
			return ""
		}
		return fmt.Sprintf("%s not finished (err %v, %d bytes)", path, err, len(b))
	}, 15*time.Second)
	pcm, err := audio.LoadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pcm
}

func TestCallPlayToBotRecording(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	dir := t.TempDir()
	// Answering after a moment of ringing, as people do, lets the media
	// transport come up first (an instant answer waits about 220 ms for it).
	startBot(t, srv, "bob", "--record-dir", dir, "--answer-delay", "700ms")
	r := run(t, srv, "call", "bob", "--user", "alice", "--play", "tone:440", "--no-audio-device", "--duration", "3s", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	callID, _ := summary(t, jsonLines(t, r.stdout))["callId"].(string)
	pcm := waitFinished(t, filepath.Join(dir, callID+"-alice.wav"))
	if f := audiotest.ToneFreq(pcm, audio.SampleRate); math.Abs(f-440) > 5 {
		t.Errorf("bob heard %.1f Hz, want 440", f)
	}
	if d := loudSeconds(pcm, 440); math.Abs(d-3) > 0.5 {
		t.Errorf("bob heard the tone for %.2f s, want about 3 (file %.2f s)", d, float64(len(pcm))/audio.SampleRate)
	}
	// The call's event log.
	var b []byte
	testutil.WithTimeout(t, func() string {
		if b, _ = os.ReadFile(filepath.Join(dir, callID+".json")); strings.Contains(string(b), `"onCallEnd"`) {
			return ""
		}
		return fmt.Sprintf("event log incomplete:\n%s", b)
	}, 10*time.Second)
	var names []string
	for _, l := range jsonLines(t, string(b)) {
		if l["event"] == "onCallReceived" || l["event"] == "onCallBegin" || l["event"] == "onCallEnd" {
			names = append(names, l["event"].(string))
		}
	}
	if strings.Join(names, ",") != "onCallReceived,onCallBegin,onCallEnd" {
		t.Errorf("event log: %v\n%s", names, b)
	}
}

func TestEchoBot(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	startBot(t, srv, "echo", "--echo")
	out := filepath.Join(t.TempDir(), "out.wav")
	r := run(t, srv, "call", "echo", "--user", "ealice", "--play", "tone:880", "--no-audio-device", "--duration", "3s", "--record", out)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	pcm, err := audio.LoadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if d := float64(len(pcm)) / audio.SampleRate; d < 2.8 || d > 3.5 {
		t.Errorf("recording is %.2f s, want the 3 s call", d)
	}
	if f := audiotest.ToneFreq(pcm, audio.SampleRate); math.Abs(f-880) > 5 {
		t.Errorf("the echo is %.1f Hz, want 880", f)
	}
	if d := loudSeconds(pcm, 880); d < 2 {
		t.Errorf("the echo lasted %.2f s", d)
	}
}

func TestBadAudioFiles(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	bot := startBot(t, srv, "fbob")
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.wav")
	if err := os.WriteFile(corrupt, []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	notAudio := filepath.Join(dir, "notes.ogg")
	if err := os.WriteFile(notAudio, []byte("this is not an ogg file"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"corrupt wav", []string{"call", "fbob", "--play", corrupt}, "bad audio file"},
		{"not ogg", []string{"call", "fbob", "--play", notAudio}, "bad audio file"},
		{"missing file", []string{"call", "fbob", "--play", filepath.Join(dir, "none.wav")}, "no such file"},
		{"bad tone", []string{"call", "fbob", "--play", "tone:abc"}, "tone frequency"},
		{"bad record name", []string{"call", "fbob", "--record", filepath.Join(dir, "x.mp3")}, ".wav or .ogg"},
		{"record in missing dir", []string{"call", "fbob", "--no-audio-device", "--record", filepath.Join(dir, "no", "x.wav")}, "no such file"},
		{"mic with no device", []string{"call", "fbob", "--no-audio-device", "--mic", "x"}, "--no-audio-device"},
		{"missing mic", []string{"call", "fbob", "--mic", "no-such-microphone"}, "no capture device"},
		{"groupcall", []string{"groupcall", "--group", "g", "fbob", "--play", corrupt}, "bad audio file"},
		{"join", []string{"join", "--call-id", "abc", "--play", corrupt}, "bad audio file"},
		{"bot", []string{"bot", "--user", "fcarol", "--play", corrupt}, "bad audio file"},
		{"bot record dir", []string{"bot", "--user", "fcarol", "--record-dir", filepath.Join(dir, "none")}, "--record-dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append(append([]string(nil), tt.args...), "--user", "falice")
			if tt.args[0] == "bot" {
				args = tt.args
			}
			r := run(t, srv, args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, want 2 with %q:\n%s", r.code, tt.want, r.stderr)
			}
			if strings.Contains(r.stderr, "logging in") || strings.Contains(r.stderr, "ringing") {
				t.Errorf("the call was started:\n%s", r.stderr)
			}
		})
	}
	t.Cleanup(func() {
		if strings.Contains(bot.out.String(), "onCallReceived") {
			t.Errorf("the bot was called:\n%s", bot.out.String())
		}
	})
}

func TestDevicesJSON(t *testing.T) {
	t.Parallel()
	r := run(t, "", "devices", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	kinds := map[string]bool{}
	for _, l := range jsonLines(t, r.stdout) {
		for _, k := range []string{"name", "kind", "default", "backend", "id"} {
			if _, ok := l[k]; !ok {
				t.Errorf("device without %q: %v", k, l)
			}
		}
		if l["backend"] == "null" {
			kinds[l["kind"].(string)] = true
		}
	}
	if !kinds["capture"] || !kinds["playback"] {
		t.Errorf("null devices missing:\n%s", r.stdout)
	}
	if r := run(t, "", "devices"); r.code != 0 || !strings.Contains(r.stdout, "null") {
		t.Errorf("devices: exit %d\n%s", r.code, r.stdout)
	}
}

func TestSelftestWithoutSoundCard(t *testing.T) {
	t.Parallel()
	if b, err := os.ReadFile("/proc/asound/cards"); err == nil && !strings.Contains(string(b), "no soundcards") && strings.TrimSpace(string(b)) != "" {
		t.Skip("this machine has a sound card")
	}
	start := time.Now()
	r := run(t, "", "selftest")
	if r.code != 1 || !strings.Contains(r.stderr, "no sound card") {
		t.Errorf("exit %d, want 1 saying there is no sound card:\n%s", r.code, r.stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("selftest took %v", d)
	}
	r = run(t, "", "selftest", "--json")
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil || m["noSoundCard"] != true || r.code != 1 {
		t.Errorf("selftest --json: exit %d %q", r.code, r.stdout)
	}
}

func TestServeMediaFlags(t *testing.T) {
	t.Parallel()
	p := start(t, "", true, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--media-ip", "127.0.0.1")
	p.waitLine(t, "termcall serve media on udp 127.0.0.1:")
	for _, args := range [][]string{{"--udp-port", "70000"}, {"--media-ip", "nowhere"}, {"--public-ip", "::1"}} {
		r := run(t, "", append([]string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, args...)...)
		if r.code != 2 {
			t.Errorf("serve %v: exit %d\n%s", args, r.code, r.stderr)
		}
	}
}

func TestBench(t *testing.T) {
	t.Parallel()
	r := run(t, "", "bench", "--calls", "2", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep struct {
		Calls   []map[string]float64 `json:"calls"`
		Summary map[string]struct {
			Median float64 `json:"median"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v: %q", err, r.stdout)
	}
	if len(rep.Calls) != 2 {
		t.Fatalf("%d calls", len(rep.Calls))
	}
	within := func(key string, lo, hi float64) {
		s, ok := rep.Summary[key]
		if !ok || s.Median < lo || s.Median > hi {
			t.Errorf("%s = %v (present %v), want %v..%v", key, s.Median, ok, lo, hi)
		}
	}
	within("inviteToReceivedMs", 0.01, 1000)
	within("dialToEstablishedMs", 0.01, 1000)
	within("calleeAcceptToFirstAudioMs", 1, 2000)
	within("callerBeginToFirstAudioMs", 1, 2000)
	within("mouthToEarCallerToCalleeMs", 5, 400)
	within("mouthToEarCalleeToCallerMs", 5, 400)
	within("correlationCallerToCallee", 0.3, 1)
	within("cpuPerSideSecondsPerCallSecond", 0.001, 1)
	if rep.Calls[0]["connectedSeconds"] < 2.5 {
		t.Errorf("call 1: %v", rep.Calls[0])
	}
	if r := run(t, "", "bench", "--calls", "0"); r.code != 2 {
		t.Errorf("--calls 0: exit %d", r.code)
	}
}
