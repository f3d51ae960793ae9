package control_test

import (
	"context"
	"sync"
	"testing"

	"github.com/termcall/termcall/internal/control"
	"github.com/termcall/termcall/protocol"
)

// --- seg: background blur ---

// blurSource is a video source that records the blur levels it is given
// (engine.BackgroundSetter), as internal/callvideo's Source applies them.
type blurSource struct {
	mu     sync.Mutex
	levels []int
}

func (*blurSource) ReadVP8Frame(ctx context.Context) ([]byte, bool, error) {
	<-ctx.Done()
	return nil, false, ctx.Err()
}

func (s *blurSource) SetBlurBackground(level int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.levels = append(s.levels, level)
	return nil
}

func (*blurSource) SetVirtualBackground(string) error { return nil }

// TestControlBlur: `blur LEVEL` over the socket sets the engine's blur and
// reaches the video source; a level out of 0..3 is 1004.
func TestControlBlur(t *testing.T) {
	e := newEnv(t)
	alice := e.login("alice")
	src := &blurSource{}
	alice.Engine.SetVideo(src, nil)
	defer alice.Engine.SetVideo(nil, nil)
	srv := control.New(control.Options{Engine: alice.Engine})
	defer srv.Close()
	ln, err := control.Listen("tcp:127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln) //nolint:errcheck
	cl, err := control.Dial(context.Background(), "tcp:"+ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	for _, lvl := range []string{"3", "1"} {
		if _, err := cl.Do(context.Background(), "blur", lvl); err != nil {
			t.Fatalf("blur %s: %v", lvl, err)
		}
	}
	for _, bad := range []string{"7", "-1", "high"} {
		if _, err := cl.Do(context.Background(), "blur", bad); !isCode(err, protocol.CodeInvalidArgument) {
			t.Errorf("blur %s: %v, want 1004", bad, err)
		}
	}
	if got := alice.Engine.BlurBackground(); got != 1 {
		t.Errorf("engine blur %d, want 1", got)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.levels) != 2 || src.levels[0] != 3 || src.levels[1] != 1 {
		t.Errorf("the source got %v, want [3 1]", src.levels)
	}
}
