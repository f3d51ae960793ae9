package audio

import (
	"context"
	"errors"
	"io"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/termcall/termcall/audio/audiotest"
)

// TestUplinkDownlink: two users' tones go through Uplink (encode) and
// Downlink (jitter buffer, decode, mix); the mix holds both tones.
func TestUplinkDownlink(t *testing.T) {
	ctx := context.Background()
	down := NewDownlink()
	ups := sourceUplinks(t, "tone:440:1s", "tone:660:1s")
	start := time.Now()
	mixed := pumpUplinks(ctx, t, ups, down, []string{"a", "b"})
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("1 s of source uplink took %v: not paced", d)
	}
	lv := down.Levels()
	if lv["a"] < 70 || lv["b"] < 70 {
		t.Errorf("levels %v", lv)
	}
	body := mixed[10*FrameSamples:]
	for _, f := range []float64{440, 660} {
		if db := audiotest.DB(audiotest.Goertzel(body, SampleRate, f)) - audiotest.DB(32768*32768); db < -20 {
			t.Errorf("%v Hz at %.1f dBFS in the mix", f, db)
		}
	}
	st, _ := down.Stats("a")
	if st.Normal < 45 || st.Concealed > 0 {
		t.Errorf("stats %+v", st)
	}
	down.RemoveUser("a")
	if _, ok := down.Stats("a"); ok {
		t.Error("user not removed")
	}
}

// sourceUplinks opens an uplink on each source spec.
func sourceUplinks(t *testing.T, specs ...string) []*Uplink {
	t.Helper()
	var ups []*Uplink
	for _, f := range specs {
		src, err := Open(f)
		if err != nil {
			t.Fatal(err)
		}
		u, err := NewSourceUplink(src)
		if err != nil {
			t.Fatal(err)
		}
		ups = append(ups, u)
	}
	return ups
}

// pumpUplinks hands each uplink's frames, as users[k]'s RTP, to down and
// mixes a frame out of it per round, until every uplink ends; after the
// first frames every uplink's level must be that of a 0.3 FS tone. It
// returns the mix.
func pumpUplinks(ctx context.Context, t *testing.T, ups []*Uplink, down *Downlink, users []string) []int16 {
	t.Helper()
	var mixed []int16
	out := make([]int16, FrameSamples)
	for i := 0; ; i++ {
		done := 0
		for k, u := range ups {
			frame, level, err := u.ReadOpusFrame(ctx)
			if errors.Is(err, io.EOF) {
				done++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if i > 2 && level < 70 { // 0.3 FS sine: -13.5 dBFS = 78
				t.Errorf("uplink level %d for a 0.3 FS tone", level)
			}
			down.WriteRTP(users[k], &rtp.Packet{Header: rtp.Header{SSRC: uint32(k + 1),
				SequenceNumber: uint16(i), Timestamp: uint32(i * FrameSamples)}, Payload: append([]byte(nil), frame...)})
		}
		if done == len(ups) {
			return mixed
		}
		down.Fill(out)
		mixed = append(mixed, out...)
	}
}

func TestCaptureUplinkNull(t *testing.T) {
	down := NewDownlink()
	u, err := NewCaptureUplink("null", down)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	for i := 0; i < 10; i++ {
		frame, level, err := u.ReadOpusFrame(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(frame) == 0 || level != 0 {
			t.Errorf("frame %d bytes, level %d from the null microphone", len(frame), level)
		}
	}
	if d := time.Since(start); d < 120*time.Millisecond || math.IsNaN(d.Seconds()) {
		t.Errorf("10 captured frames in %v: not real time", d)
	}
	cancel()
	if _, _, err := u.ReadOpusFrame(ctx); err == nil {
		t.Error("no error after cancel")
	}
}

// TestDownlinkTap: the tap sees every user's frame, silence included.
func TestDownlinkTap(t *testing.T) {
	down := NewDownlink()
	kinds := map[FrameKind]int{}
	var users []string
	down.SetTap(func(user string, pcm []int16, kind FrameKind) {
		kinds[kind]++
		users = append(users, user)
		if len(pcm) != FrameSamples {
			t.Errorf("tap frame of %d samples", len(pcm))
		}
	})
	enc, err := NewEncoder()
	if err != nil {
		t.Fatal(err)
	}
	tone := NewTone(440, 0.3)
	pcm, pkt, out := make([]int16, FrameSamples), make([]byte, MaxPacketSize), make([]int16, FrameSamples)
	for i := 0; i < 20; i++ {
		_ = tone.ReadFrame(pcm)
		n, err := enc.Encode(pcm, pkt)
		if err != nil {
			t.Fatal(err)
		}
		down.WriteRTP("u", &rtp.Packet{Header: rtp.Header{SSRC: 1, SequenceNumber: uint16(i), Timestamp: uint32(i * FrameSamples)},
			Payload: append([]byte(nil), pkt[:n]...)})
		down.Fill(out)
	}
	if len(users) != 20 || users[0] != "u" || kinds[FrameNormal] < 10 {
		t.Errorf("tap saw %d frames %v", len(users), kinds)
	}
	down.SetTap(nil)
	down.Fill(out)
	if len(users) != 20 {
		t.Error("tap called after removal")
	}
}

// TestSourceUplinkBatches: a source uplink, which encodes its source in
// batches of sourceBatchFrames, still sends every frame of the source
// once, in order, at 32 kbit/s, and then io.EOF (again on the next read).
func TestSourceUplinkBatches(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		src    string
		frames int
	}{{"tone:440:300ms", 15}, {"tone:440:1s", 50}} {
		src, err := Open(c.src)
		if err != nil {
			t.Fatal(err)
		}
		u, err := NewSourceUplink(src)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := NewDecoder()
		if err != nil {
			t.Fatal(err)
		}
		var pcm []int16
		buf := make([]int16, 5760)
		frames, bytes := 0, 0
		for {
			frame, _, err := u.ReadOpusFrame(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			frames++
			bytes += len(frame)
			n, err := dec.Decode(frame, buf)
			if err != nil || n != FrameSamples {
				t.Fatalf("%s: frame %d decodes to %d samples (%v)", c.src, frames, n, err)
			}
			pcm = append(pcm, buf[:n]...)
		}
		if _, _, err := u.ReadOpusFrame(ctx); !errors.Is(err, io.EOF) {
			t.Errorf("%s: read after the end: %v, want io.EOF", c.src, err)
		}
		u.Close()
		if frames != c.frames {
			t.Errorf("%s: %d frames, want %d", c.src, frames, c.frames)
		}
		if kbps := float64(bytes) * 8 / float64(frames) * 50 / 1000; kbps < 24 || kbps > 40 {
			t.Errorf("%s: %.1f kbit/s, want about 32", c.src, kbps)
		}
		if f := audiotest.ToneFreq(pcm[len(pcm)/2:], SampleRate); math.Abs(f-440) > 5 {
			t.Errorf("%s: decoded tone at %.0f Hz, want 440", c.src, f)
		}
	}
}

// TestSourceUplinkReadAfterClose: the engine's sender may still read a
// source uplink that its owner has just closed (a call's media ends while
// the process shuts its audio down): the read must not crash.
func TestSourceUplinkReadAfterClose(t *testing.T) {
	u, err := NewSourceUplink(NewTone(440, 0.3))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := u.ReadOpusFrame(context.Background()); err != nil {
		t.Fatal(err)
	}
	u.Close()
	for i := 0; i < 2*sourceBatchFrames; i++ { // two batches' encodes after Close
		if _, _, err := u.ReadOpusFrame(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
