package video

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

func TestOpenNames(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []OpenOption
		w, h int
		fps  int
	}{
		{"pattern:", nil, 640, 360, 15},
		{"pattern", nil, 640, 360, 15},
		{"PATTERN:320x240", nil, 320, 240, 15},
		{"pattern:320x240@30", nil, 320, 240, 30},
		{"pattern:", []OpenOption{WithSize(160, 120), WithFPS(10)}, 160, 120, 10},
	} {
		s, err := Open(c.name, c.opts...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if i := s.Info(); i.Width != c.w || i.Height != c.h || i.FPS != c.fps || i.Name != c.name {
			t.Errorf("%s: %+v", c.name, i)
		}
		s.Close()
	}
	for _, bad := range []string{"pattern:x", "pattern:10", "pattern:1x1", "pattern:640x360@0", "vga:", "nonexistent"} {
		if _, err := Open(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestCameraAbsent(t *testing.T) {
	devs, err := Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) > 0 {
		t.Skipf("this machine has cameras: %+v", devs)
	}
	for _, name := range []string{"camera:", "camera", "camera:/dev/video0", "CAMERA:video7"} {
		s, err := Open(name)
		if !errors.Is(err, ErrNoCamera) || s != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	var cams Cameras
	if _, err := cams.Open(CameraBack); !errors.Is(err, ErrNoCamera) {
		t.Errorf("back camera: %v", err)
	}
	cams = Cameras{Front: "pattern:64x36", Back: "pattern:32x18"}
	s, err := cams.Open(CameraBack)
	if err != nil {
		t.Fatal(err)
	}
	if s.Info().Width != 32 {
		t.Errorf("back camera: %+v", s.Info())
	}
	s.Close()
}

func TestCameraNaming(t *testing.T) {
	d := DeviceInfo{ID: "abc", Path: "/dev/video2"}
	if d.SourceName() != "camera:/dev/video2" {
		t.Error(d.SourceName())
	}
	if (DeviceInfo{ID: "abc"}).SourceName() != "camera:abc" {
		t.Error("no path")
	}
}

func TestPaced(t *testing.T) {
	src := Paced(NewPattern(32, 18, 50), 0)
	defer src.Close()
	start := time.Now()
	for i := 0; i < 6; i++ {
		if _, err := src.ReadFrame(); err != nil {
			t.Fatal(err)
		}
	}
	// 5 waits of 20 ms
	if el := time.Since(start); el < 90*time.Millisecond || el > 2*time.Second {
		t.Errorf("6 frames at 50 fps took %v", el)
	}
	// Close interrupts
	slow := Paced(NewPattern(32, 18, 1), 0)
	_, _ = slow.ReadFrame()
	go func() { time.Sleep(20 * time.Millisecond); slow.Close() }()
	if _, err := slow.ReadFrame(); !errors.Is(err, context.Canceled) {
		t.Errorf("after Close: %v", err)
	}
}

func TestPacerResync(t *testing.T) {
	p := NewPacer(100)
	now := time.Unix(0, 0)
	p.now = func() time.Time { return now }
	ctx := context.Background()
	_ = p.Wait(ctx)            // first returns at once
	now = now.Add(time.Second) // far behind: resync, no burst
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if !p.next.Equal(now.Add(10 * time.Millisecond)) {
		t.Errorf("next %v", p.next)
	}
	if p.Period() != 10*time.Millisecond {
		t.Error(p.Period())
	}
}

func TestOpenFileDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open("file:" + dir); err == nil {
		t.Error("directory opened")
	}
	_ = os.Remove(dir)
}
