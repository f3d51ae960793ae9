package callvideo

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/video"
)

// syncBuffer is a bytes.Buffer safe for Render's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// renderOnce feeds one real VP8 picture (the test pattern, encoded and
// packetized as a sender would) to a Video opened with mode, and returns
// what Render draws of it.
func renderOnce(t *testing.T, mode string) string {
	t.Helper()
	v, err := Open(Options{RenderMode: mode})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	enc, err := video.NewEncoder(video.EncoderParams{Width: 160, Height: 90, FPS: 15})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	frame, _, err := enc.Encode(video.PatternFrame(160, 90, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkt := range video.NewPacketizer(1200, 96, 1).Packetize(frame, video.ClockRate/15) {
		v.Sink().WriteVideoRTP("bob", pkt)
	}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { v.Render(ctx, &out, func() (int, int) { return 40, 12 }, 20); close(done) }()
	testutil.Poll(10*time.Second, func() bool { return out.String() != "" }) // the first picture
	cancel()
	<-done
	if out.String() == "" {
		t.Fatalf("mode %q: nothing rendered", mode)
	}
	return out.String()
}

// TestRenderModeOption: Options.RenderMode (the video.render key) picks
// Render's picture mode: truecolor draws 24-bit colour escapes, ascii none.
func TestRenderModeOption(t *testing.T) {
	t.Setenv(video.RenderModeEnv, "") // the option alone decides
	if got := renderOnce(t, "truecolor"); !strings.Contains(got, "\x1b[38;2;") {
		t.Errorf("truecolor: no 24-bit colour escape in %q", got[:min(len(got), 200)])
	}
	got := renderOnce(t, "ascii")
	body := strings.TrimSuffix(strings.TrimPrefix(got, "\x1b7\x1b[H"), "\x1b8")
	if strings.Contains(body, "\x1b[") {
		t.Errorf("ascii: colour escapes in %q", body[:min(len(body), 200)])
	}
}
