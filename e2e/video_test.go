package e2e

import (
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callvideo"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/video/videotest"
)

// videoLog keeps a client's UserVideoAvailable events.
type videoLog struct {
	mu    sync.Mutex
	avail []engine.UserVideoAvailable
}

func (l *videoLog) OnEvent(ev engine.Event) {
	if ev, ok := ev.(engine.UserVideoAvailable); ok {
		l.mu.Lock()
		l.avail = append(l.avail, ev)
		l.mu.Unlock()
	}
}

// last returns the last event about user (ok false if none).
func (l *videoLog) last(user string) (available, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.avail) - 1; i >= 0; i-- {
		if l.avail[i].UserID == user {
			return l.avail[i].IsVideoAvailable, true
		}
	}
	return false, false
}

// withVideo attaches callvideo to the client: a camera source if name is
// not empty, and a sink.
func (c *client) withVideo(t *testing.T, opts callvideo.Options) *callvideo.Video {
	t.Helper()
	v, err := callvideo.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	v.Attach(c.Engine)
	t.Cleanup(func() { v.Close() })
	return v
}

// frames polls the count of pictures bob decoded from user.
func frames(v *callvideo.Video, user string) int {
	_, n := v.LastFrame(user)
	return n
}

// TestVideo1v1: alice sends the test pattern; bob, viewing her, decodes
// it; closing the camera and stopping the view stop the frames; a view
// started mid-call gets its first picture quickly (PLI -> keyframe).
func TestVideo1v1(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	aliceVideo := alice.withVideo(t, callvideo.Options{Camera: "pattern:640x360@15", BitrateKbps: 300})
	bobVideo := bob.withVideo(t, callvideo.Options{})
	log := &videoLog{}
	bob.AddObserver(log)
	alice.must("OpenCamera", alice.OpenCamera(ctx(t), engine.CameraFront))
	if err := bob.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}

	info := alice.mustCall("bob", engine.MediaTypeVideo, engine.CallParams{})
	rcv := received(info, "alice", "bob", "")
	rcv.MediaType = engine.MediaTypeVideo
	bob.expect(rcv)
	bob.must("Accept", bob.Accept(ctx(t)))
	accepted := time.Now()
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	bob.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"})

	testutil.Until(t, "bob learns alice's camera is on", wait, func() bool { on, ok := log.last("alice"); return ok && on })
	testutil.Until(t, "bob decodes a picture from alice", wait, func() bool { return frames(bobVideo, "alice") > 0 })
	t.Logf("accept -> first decoded picture: %v", time.Since(accepted).Round(time.Millisecond))

	n0 := frames(bobVideo, "alice")
	time.Sleep(2 * time.Second)
	n1 := frames(bobVideo, "alice")
	t.Logf("bob decoded %d pictures in 2 s (%.1f/s); alice encoded %d", n1-n0, float64(n1-n0)/2, aliceVideo.Source().Frames())
	if n1-n0 <= 10 {
		t.Fatalf("bob decoded %d pictures from alice in 2 s; want > 10", n1-n0)
	}
	img, _ := bobVideo.LastFrame("alice")
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 360 {
		t.Fatalf("decoded picture is %v; want 640x360", b)
	}
	d := videotest.BarError(img)
	t.Logf("colour bars: worst channel error %d levels", d)
	if d > 24 {
		t.Errorf("colour bars off by up to %d levels; want <= 24", d)
	}

	// The camera closes: bob learns it, and pictures stop.
	alice.must("CloseCamera", alice.CloseCamera(ctx(t)))
	testutil.Until(t, "bob learns alice's camera is off", wait, func() bool { on, ok := log.last("alice"); return ok && !on })
	time.Sleep(200 * time.Millisecond)
	n2 := frames(bobVideo, "alice")
	time.Sleep(600 * time.Millisecond)
	if n := frames(bobVideo, "alice") - n2; n > 0 {
		t.Errorf("bob decoded %d pictures after alice closed her camera", n)
	}

	// It opens again: pictures resume.
	alice.must("OpenCamera", alice.OpenCamera(ctx(t), engine.CameraFront))
	testutil.Until(t, "bob learns alice's camera is on again", wait, func() bool { on, _ := log.last("alice"); return on })
	n3 := frames(bobVideo, "alice")
	testutil.Until(t, "pictures resume", wait, func() bool { return frames(bobVideo, "alice") > n3+5 })

	// The view stops: nothing more reaches the sink.
	bob.StopRemoteView("alice")
	n4 := frames(bobVideo, "alice")
	time.Sleep(600 * time.Millisecond)
	if n := frames(bobVideo, "alice") - n4; n != 0 {
		t.Errorf("bob's sink decoded %d pictures after StopRemoteView", n)
	}

	// A view started mid-call gets a keyframe at once.
	started := time.Now()
	if err := bob.StartRemoteView("alice"); err != nil {
		t.Fatal(err)
	}
	testutil.Until(t, "a picture after the view restarts", wait, func() bool { return frames(bobVideo, "alice") > n4 })
	lat := time.Since(started)
	t.Logf("StartRemoteView mid-call -> first decoded picture: %v", lat.Round(time.Millisecond))
	if lat > time.Second {
		t.Errorf("first picture %v after StartRemoteView; want within 1 s", lat)
	}

	alice.must("Hangup", alice.Hangup(ctx(t)))
}
