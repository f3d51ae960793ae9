package callaudio

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/engine"
)

// feed sends d of a tone as user's RTP into sink, in real time.
func feed(t *testing.T, sink engine.AudioSink, user string, freq float64, d time.Duration) {
	t.Helper()
	if err := feedErr(sink, user, freq, d); err != nil {
		t.Fatal(err)
	}
}

func feedErr(sink engine.AudioSink, user string, freq float64, d time.Duration) error {
	up, err := audio.NewSourceUplink(audio.NewTone(freq, 0.3))
	if err != nil {
		return err
	}
	ctx := context.Background()
	for i := 0; i < int(d/(20*time.Millisecond)); i++ {
		frame, _, err := up.ReadOpusFrame(ctx)
		if err != nil {
			return err
		}
		sink.WriteRTP(user, &rtp.Packet{Header: rtp.Header{SSRC: uint32(freq), SequenceNumber: uint16(i), Timestamp: uint32(i * audio.FrameSamples)},
			Payload: append([]byte(nil), frame...)})
	}
	return nil
}

func toneSeconds(pcm []int16, freq float64) float64 {
	n := 0
	for i := 0; i+audio.FrameSamples <= len(pcm); i += audio.FrameSamples {
		if audiotest.DB(audiotest.Goertzel(pcm[i:i+audio.FrameSamples], audio.SampleRate, freq)) > audiotest.DB(0.3*0.3*32767*32767/2)-10 {
			n++
		}
	}
	return float64(n) * 0.02
}

func TestRecordDuringCallOnly(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "heard.wav")
	a, err := Open(Options{NoAudioDevice: true, Record: out, RecordDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if a.Source() != nil {
		t.Error("something to send without a device, --play or --echo")
	}
	feed(t, a.Downlink(), "bob", 440, 300*time.Millisecond) // before the call: not recorded
	a.Observe(engine.CallBegin{CallID: "c1"})
	feed(t, a.Downlink(), "bob", 660, time.Second)
	a.Observe(engine.CallEnd{CallID: "c1"})
	feed(t, a.Downlink(), "bob", 440, 300*time.Millisecond) // after: not recorded
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	pcm, err := audio.LoadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if d := toneSeconds(pcm, 660); d < 0.8 || d > 1.1 {
		t.Errorf("660 Hz for %.2f s in the recording, want 1", d)
	}
	if d := toneSeconds(pcm, 440); d > 0.1 {
		t.Errorf("440 Hz from outside the call recorded for %.2f s", d)
	}
	user, err := audio.LoadFile(RecordingName(dir, "c1", "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if d := toneSeconds(user, 660); d < 0.8 || d > 1.1 {
		t.Errorf("660 Hz for %.2f s in bob's recording", d)
	}
	b, err := os.ReadFile(EventLogName(dir, "c1"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) != 2 ||
		!strings.Contains(lines[0], `"event":"onCallBegin"`) || !strings.Contains(lines[1], `"event":"onCallEnd"`) {
		t.Errorf("event log:\n%s", b)
	}
}

func TestEcho(t *testing.T) {
	a, err := Open(Options{NoAudioDevice: true, Echo: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Observe(engine.CallBegin{CallID: "c1"})
	go func() {
		if err := feedErr(a.Downlink(), "alice", 880, 1500*time.Millisecond); err != nil {
			t.Error(err)
		}
	}()
	dec, err := audio.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []int16
	pcm := make([]int16, audio.FrameSamples)
	for i := 0; i < 60; i++ {
		frame, _, err := a.Source().ReadOpusFrame(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n, err := dec.Decode(frame, pcm)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, pcm[:n]...)
	}
	if f := audiotest.ToneFreq(got, audio.SampleRate); math.Abs(f-880) > 5 {
		t.Errorf("echo at %.1f Hz", f)
	}
	if d := toneSeconds(got, 880); d < 0.8 {
		t.Errorf("echoed the tone for %.2f s of 1.2", d)
	}
}

func TestPlayLoops(t *testing.T) {
	a, err := Open(Options{NoAudioDevice: true, Play: "tone:500:100ms", Loop: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	for i := 0; i < 10; i++ { // 200 ms: past the end of one pass
		if _, _, err := a.Source().ReadOpusFrame(ctx); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.wav")
	if err := os.WriteFile(bad, []byte("RIFFxxxxWAVEjunk"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    Options
		is   error
	}{
		{"corrupt", Options{NoAudioDevice: true, Play: bad}, audio.ErrBadFile},
		{"bad name", Options{NoAudioDevice: true, Play: "beep"}, audio.ErrBadName},
		{"play and echo", Options{Play: "tone:440", Echo: true}, ErrUsage},
		{"play and mic", Options{Play: "tone:440", Mic: "x"}, ErrUsage},
		{"no device and speaker", Options{NoAudioDevice: true, Speaker: "x"}, ErrUsage},
		{"record mp3", Options{NoAudioDevice: true, Record: filepath.Join(dir, "x.mp3")}, ErrUsage},
		{"record dir missing", Options{NoAudioDevice: true, RecordDir: filepath.Join(dir, "nope")}, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := Open(tt.o)
			if err == nil {
				a.Close()
				t.Fatal("no error")
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %v, want %v", err, tt.is)
			}
		})
	}
}

// TestDefaultDevices: without a sound card the default devices fall back
// to the null ones; opening and closing must neither fail nor hang.
func TestDefaultDevices(t *testing.T) {
	done := make(chan error, 1)
	go func() {
		a, err := Open(Options{AEC: true})
		if err != nil {
			done <- err
			return
		}
		if a.Source() == nil {
			done <- errors.New("no microphone source")
		}
		time.Sleep(100 * time.Millisecond)
		done <- a.Close()
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Open/Close hung")
	}
}

// TestDeafDecodesNothing: with no sound device and nothing recording or
// echoing, what arrives is not decoded (no sink for the engine, no playout
// clock); any of a device, a recording or echo makes it heard again.
func TestDeafDecodesNothing(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		o    Options
		deaf bool
	}{
		{"play only", Options{NoAudioDevice: true, Play: "tone:500", Loop: true}, true},
		{"nothing", Options{NoAudioDevice: true}, true},
		{"record", Options{NoAudioDevice: true, Play: "tone:500", Record: filepath.Join(dir, "r.wav")}, false},
		{"record dir", Options{NoAudioDevice: true, Play: "tone:500", RecordDir: dir}, false},
		{"echo", Options{NoAudioDevice: true, Echo: true}, false},
	} {
		a, err := Open(c.o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		eng, err := engine.New(engine.Options{Server: "http://127.0.0.1:1"})
		if err != nil {
			t.Fatal(err)
		}
		a.Attach(eng)
		playing := a.paced != nil
		if a.deaf != c.deaf || playing == c.deaf {
			t.Errorf("%s: deaf %v, playout clock %v; want deaf %v", c.name, a.deaf, playing, c.deaf)
		}
		a.Close()
		eng.Destroy()
	}
}

// TestLightEncoder: a bot's uplink (LightEncoder) encodes at
// audio.LightComplexity, at the usual bitrate, and what it sends still
// decodes to its tone; without LightEncoder the complexity is the default.
func TestLightEncoder(t *testing.T) {
	for _, light := range []bool{false, true} {
		a, err := Open(Options{Play: "tone:1000", NoAudioDevice: true, LightEncoder: light})
		if err != nil {
			t.Fatal(err)
		}
		want := audio.DefaultComplexity
		if light {
			want = audio.LightComplexity
		}
		if got, err := a.uplink.Complexity(); err != nil || got != want {
			t.Errorf("light %v: complexity %d (%v), want %d", light, got, err, want)
		}
		dec, err := audio.NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		var pcm []int16
		buf := make([]int16, 5760)
		for i := 0; i < 25; i++ {
			frame, _, err := a.Source().ReadOpusFrame(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			n, err := dec.Decode(frame, buf)
			if err != nil {
				t.Fatal(err)
			}
			pcm = append(pcm, buf[:n]...)
		}
		if f := audiotest.ToneFreq(pcm[len(pcm)/2:], audio.SampleRate); math.Abs(f-1000) > 10 {
			t.Errorf("light %v: decoded tone at %.0f Hz, want 1000", light, f)
		}
		a.Close()
	}
}
