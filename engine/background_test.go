package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/protocol"
)

// bgSource records what the engine hands it; a path ending in ".bad"
// fails as an undecodable picture would.
type bgSource struct{ calls []string }

func (*bgSource) ReadVP8Frame(ctx context.Context) ([]byte, bool, error) {
	<-ctx.Done()
	return nil, false, ctx.Err()
}

func (s *bgSource) SetBlurBackground(level int) error {
	s.calls = append(s.calls, fmt.Sprint("blur ", level))
	return nil
}

func (s *bgSource) SetVirtualBackground(path string) error {
	if filepath.Ext(path) == ".bad" {
		return errors.New("not a picture")
	}
	s.calls = append(s.calls, "background "+filepath.Base(path))
	return nil
}

// checkBadEffectArgs checks that blur levels out of range, and a picture
// that is missing or a directory, are refused with CodeInvalidArgument.
func checkBadEffectArgs(t *testing.T, e *Engine, dir string) {
	t.Helper()
	for _, bad := range []int{-1, 4, 100} {
		if err := e.SetBlurBackground(bad); !IsCode(err, protocol.CodeInvalidArgument) {
			t.Errorf("SetBlurBackground(%d): got %v, want code %d", bad, err, protocol.CodeInvalidArgument)
		}
	}
	for _, p := range []string{filepath.Join(dir, "missing.png"), dir} {
		if err := e.SetVirtualBackground(p); !IsCode(err, protocol.CodeInvalidArgument) {
			t.Errorf("SetVirtualBackground(%s): got %v, want code %d", p, err, protocol.CodeInvalidArgument)
		}
	}
}

func TestSetBlurAndVirtualBackground(t *testing.T) {
	e, err := New(Options{Server: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Destroy()
	dir := t.TempDir()
	pic := filepath.Join(dir, "beach.png")
	bad := filepath.Join(dir, "x.bad")
	for _, p := range []string{pic, bad} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkBadEffectArgs(t, e, dir)
	// Before any source: stored, handed over at SetVideo.
	if err := e.SetBlurBackground(BlurMedium); err != nil {
		t.Fatal(err)
	}
	if err := e.SetVirtualBackground(pic); err != nil {
		t.Fatal(err)
	}
	src := &bgSource{}
	e.SetVideo(src, nil)
	if err := e.SetVirtualBackground(bad); !IsCode(err, protocol.CodeVideoDevice) {
		t.Errorf("SetVirtualBackground of a picture the source cannot use: %v, want code %d", err, protocol.CodeVideoDevice)
	}
	if err := e.SetVirtualBackground(""); err != nil {
		t.Fatal(err)
	}
	if err := e.SetBlurBackground(BlurOff); err != nil {
		t.Fatal(err)
	}
	want := []string{"background beach.png", "blur 2", "background .", "blur 0"}
	if diff := cmp.Diff(want, src.calls); diff != "" {
		t.Errorf("what the source got (-want +got):\n%s", diff)
	}
	if e.BlurBackground() != BlurOff || e.VirtualBackground() != "" {
		t.Errorf("BlurBackground() %d, VirtualBackground() %q; want 0, \"\"", e.BlurBackground(), e.VirtualBackground())
	}
}
