package e2e

import (
	"image"
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callvideo"
	"github.com/termcall/termcall/video"
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

// barColours measures the mean colour of the middle of each test-pattern
// bar in img and returns the worst per-channel distance from PatternBars.
func barColours(img image.Image) (worst int) {
	b := img.Bounds()
	l := video.PatternGeometry(b.Dx(), b.Dy(), 0)
	bw := l.Bars.Dx() / 7
	for i, want := range video.PatternBars {
		x0, x1 := b.Min.X+i*bw+bw/4, b.Min.X+i*bw+3*bw/4
		y0, y1 := b.Min.Y+l.Bars.Dy()/4, b.Min.Y+3*l.Bars.Dy()/4
		var sr, sg, sb, n int
		for y := y0; y < y1; y += 2 {
			for x := x0; x < x1; x += 2 {
				var r, g, bl uint8
				if yc, ok := img.(*image.YCbCr); ok {
					yi, ci := yc.YOffset(x, y), yc.COffset(x, y)
					r, g, bl = video.YCbCrToRGB(yc.Y[yi], yc.Cb[ci], yc.Cr[ci])
				} else {
					R, G, B, _ := img.At(x, y).RGBA()
					r, g, bl = uint8(R>>8), uint8(G>>8), uint8(B>>8)
				}
				sr, sg, sb, n = sr+int(r), sg+int(g), sb+int(bl), n+1
			}
		}
		for _, d := range []int{sr/n - int(want.R), sg/n - int(want.G), sb/n - int(want.B)} {
			worst = max(worst, abs(d))
		}
	}
	return worst
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
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

	waitUntil(t, "bob learns alice's camera is on", func() bool { on, ok := log.last("alice"); return ok && on })
	waitUntil(t, "bob decodes a picture from alice", func() bool { return frames(bobVideo, "alice") > 0 })
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
	d := barColours(img)
	t.Logf("colour bars: worst channel error %d levels", d)
	if d > 24 {
		t.Errorf("colour bars off by up to %d levels; want <= 24", d)
	}

	// The camera closes: bob learns it, and pictures stop.
	alice.must("CloseCamera", alice.CloseCamera(ctx(t)))
	waitUntil(t, "bob learns alice's camera is off", func() bool { on, ok := log.last("alice"); return ok && !on })
	time.Sleep(200 * time.Millisecond)
	n2 := frames(bobVideo, "alice")
	time.Sleep(600 * time.Millisecond)
	if n := frames(bobVideo, "alice") - n2; n > 0 {
		t.Errorf("bob decoded %d pictures after alice closed her camera", n)
	}

	// It opens again: pictures resume.
	alice.must("OpenCamera", alice.OpenCamera(ctx(t), engine.CameraFront))
	waitUntil(t, "bob learns alice's camera is on again", func() bool { on, _ := log.last("alice"); return on })
	n3 := frames(bobVideo, "alice")
	waitUntil(t, "pictures resume", func() bool { return frames(bobVideo, "alice") > n3+5 })

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
	waitUntil(t, "a picture after the view restarts", func() bool { return frames(bobVideo, "alice") > n4 })
	lat := time.Since(started)
	t.Logf("StartRemoteView mid-call -> first decoded picture: %v", lat.Round(time.Millisecond))
	if lat > time.Second {
		t.Errorf("first picture %v after StartRemoteView; want within 1 s", lat)
	}

	alice.must("Hangup", alice.Hangup(ctx(t)))
}
