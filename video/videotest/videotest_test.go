package videotest

import (
	"bytes"
	"testing"
	"time"

	"github.com/termcall/termcall/video"
)

// TestRoundTrip: the pattern, encoded to an IVF, decodes back at its rate
// with recognisable colour bars.
func TestRoundTrip(t *testing.T) {
	enc, err := video.NewEncoder(video.EncoderParams{Width: 320, Height: 240, FPS: 15, BitrateKbps: 400})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var buf bytes.Buffer
	w, err := video.NewIVFWriter(&buf, 320, 240, 15)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 45; i++ {
		frame, _, err := enc.Encode(video.PatternFrame(320, 240, i))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteFrame(frame, uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	hdr, frames, err := ReadIVF(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Width != 320 || len(frames) != 45 {
		t.Fatalf("header %+v, %d frames; want 320 wide, 45 frames", hdr, len(frames))
	}
	if fps := RateOverLast(frames, 2*time.Second); fps < 14 || fps > 16 {
		t.Errorf("rate %.1f fps, want 15", fps)
	}
	if d := BarError(frames[len(frames)-1].Img); d > 24 {
		t.Errorf("colour bars off by %d levels", d)
	}
}
