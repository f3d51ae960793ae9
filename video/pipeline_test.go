package video

import (
	"context"
	"testing"
	"time"
)

func TestSenderReceiver(t *testing.T) {
	const w, h, fps, n = 320, 180, 100, 12
	src, err := Open("pattern:320x180@100")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	e, err := NewEncoder(EncoderParams{Width: w, Height: h, FPS: fps, BitrateKbps: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var frames [][]byte
	previews := 0
	s := &Sender{Source: src, Encoder: e, Preview: func(Frame) { previews++ },
		Write: func(frame []byte, key bool, d time.Duration) error {
			if d != 10*time.Millisecond {
				t.Errorf("duration %v", d)
			}
			if len(frames) == 0 && !key {
				t.Error("first frame not a keyframe")
			}
			frames = append(frames, frame)
			if len(frames) == n {
				cancel()
			}
			return nil
		}}
	start := time.Now()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < (n-2)*10*time.Millisecond {
		t.Errorf("not paced: %d frames in %v", n, el)
	}
	if len(frames) != n || previews < n {
		t.Fatalf("%d frames, %d previews", len(frames), previews)
	}
	checkReceivedPattern(t, frames, w, h, fps)
}

// checkReceivedPattern packetizes the encoded pattern frames and pushes
// them through a Receiver: each comes out whole, close to its pattern
// frame, without a keyframe request.
func checkReceivedPattern(t *testing.T, frames [][]byte, w, h, fps int) {
	t.Helper()
	n := len(frames)
	pk := NewPacketizer(1200, 96, 42)
	r, err := NewReceiver()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := 0
	for i, f := range frames {
		for _, p := range pk.Packetize(f, uint32(ClockRate/fps)) {
			pic, ask := r.Push(p)
			if ask {
				t.Errorf("frame %d: keyframe asked", i)
			}
			if pic != nil {
				if p := psnr(PatternFrame(w, h, i), pic); p < 30 {
					t.Errorf("frame %d: PSNR %.1f", i, p)
				}
				got++
			}
		}
	}
	if got != n {
		t.Errorf("%d pictures", got)
	}
}
