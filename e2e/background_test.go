package e2e

import (
	"image"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callvideo"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/segment/segmenttest"
)

// --- seg: background blur ---

// TestBackgroundBlur1v1: alice films the scene (the photo's person over a
// wall of stripes, a Y4M file played in a loop) and sends it; bob decodes
// it. Without blur the wall arrives striped; after alice's
// SetBlurBackground(3), mid-call, bob's pictures have the wall blurred and
// the person as sharp as before.
//
// Under the race detector the model costs ~0.6 s of CPU a frame (15x; 4 s
// of wall time on a loaded machine), so there the test sends 5 fps, waits
// for fewer pictures, up to 2 minutes, and does not run in parallel with
// the other tests (it would starve their timing).
func TestBackgroundBlur1v1(t *testing.T) {
	fps, settle, patience := 15, 15, 20*time.Second
	if raceEnabled {
		fps, settle, patience = 5, 2, 2*time.Minute
	} else {
		t.Parallel()
	}
	sc := segmenttest.NewScene(640, 360)
	path := filepath.Join(t.TempDir(), "scene.y4m")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := video.NewY4MWriter(f, sc.W, sc.H, fps)
	if err != nil {
		t.Fatal(err)
	}
	for range 15 {
		if err := w.WriteFrame(sc.Frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	alice.withVideo(t, callvideo.Options{Camera: path, FPS: fps, Loop: true, BitrateKbps: 800})
	bobVideo := bob.withVideo(t, callvideo.Options{})
	alice.must("OpenCamera", alice.OpenCamera(ctx(t), engine.CameraFront))
	if err := bob.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	info := alice.mustCall("bob", engine.MediaTypeVideo, engine.CallParams{})
	rcv := received(info, "alice", "bob", "")
	rcv.MediaType = engine.MediaTypeVideo
	bob.expect(rcv)
	bob.must("Accept", bob.Accept(ctx(t)))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	bob.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"})

	// latest waits for n more pictures and returns the last one.
	latest := func(what string, n int) *image.YCbCr {
		t.Helper()
		n0 := frames(bobVideo, "alice")
		testutil.Until(t, "until "+what, patience, func() bool { return frames(bobVideo, "alice") >= n0+n })
		img, _ := bobVideo.LastFrame("alice")
		yc, ok := img.(*image.YCbCr)
		if !ok || yc.Rect.Dx() != sc.W || yc.Rect.Dy() != sc.H {
			t.Fatalf("bob's picture is %T %v, want 640x360 YCbCr", img, img.Bounds())
		}
		return segmenttest.Clone(yc)
	}
	plain := latest("bob decodes alice's pictures", settle)
	hf0, _ := sc.Stats(plain, plain, segmenttest.Back)
	_, plainDiff := sc.Stats(plain, sc.Frame, segmenttest.Person)

	blurStart := time.Now()
	alice.must("SetBlurBackground", alice.SetBlurBackground(engine.BlurHigh))
	var blurred *image.YCbCr
	var hf1 float64
	testutil.Poll(patience, func() bool {
		blurred = latest("pictures keep coming", 1)
		hf1, _ = sc.Stats(blurred, plain, segmenttest.Back)
		return hf1 < 0.1*hf0
	})
	// Some more frames: the encoder's quality settles on the new picture.
	blurred = latest("pictures keep coming", settle)
	hf1, _ = sc.Stats(blurred, plain, segmenttest.Back)
	_, personDiff := sc.Stats(blurred, sc.Frame, segmenttest.Person)
	t.Logf("bob's pictures: wall HF %.0f without blur, %.0f with (%v after SetBlurBackground); person vs the picture filmed: %.2f levels without, %.2f with",
		hf0, hf1, time.Since(blurStart).Round(time.Millisecond), plainDiff, personDiff)
	if hf0 < 2000 {
		t.Fatalf("without blur the wall arrives with HF %.0f: the stripes did not get through", hf0)
	}
	if hf1 > 0.1*hf0 {
		t.Errorf("with blur the wall keeps %.1f%% of its high-frequency energy at bob, want < 10%%", 100*hf1/hf0)
	}
	if personDiff > plainDiff+1.5 {
		t.Errorf("the person differs from the picture by %.2f levels with blur, %.2f without", personDiff, plainDiff)
	}
}
