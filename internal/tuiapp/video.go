package tuiapp

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callvideo"
	"github.com/termcall/termcall/video"
)

// Video gives the TUI its video: the camera (or pattern) is sent in
// video calls only, the others are viewed as their cameras open, and their
// pictures are drawn as text (half-blocks or the 256-color / ASCII
// fallbacks: kitty and sixel pictures cannot live inside a bubbletea view).
type Video struct {
	v   *callvideo.Video
	mu  sync.Mutex
	r   video.Renderer
	eng *engine.Engine
	log *slog.Logger
}

// OpenVideo opens the video source camera (default: the first camera,
// else the test pattern; back is the back camera's) and the text renderer
// of mode render (a video.ParseMode name; default: detected, kitty and
// sixel falling back to truecolor).
func OpenVideo(camera, back, render string, log *slog.Logger) (*Video, error) {
	if camera == "" {
		camera = callvideo.DefaultCamera()
	}
	v, err := callvideo.Open(callvideo.Options{Camera: camera, Back: back, Loop: true, ViewAll: true, Logger: log})
	if err != nil {
		return nil, err
	}
	mode := video.DetectMode(os.Getenv)
	if render != "" {
		if m, err := video.ParseMode(render); err == nil {
			mode = m
		}
	}
	if mode == video.ModeKitty || mode == video.ModeSixel {
		mode = video.ModeTruecolor
	}
	return &Video{v: v, r: video.Renderer{Mode: mode, FillMode: video.FillModeFit}, log: log}, nil
}

// Attach wires the video to the engine and opens the camera for video
// calls only (closing it when a call turns to audio or ends).
func (t *Video) Attach(eng *engine.Engine) {
	t.eng = eng
	t.v.Attach(eng)
	eng.AddObserver(engine.NewObserver(func(ev engine.Event) {
		if media, ok := cameraMedia(ev); ok {
			// Observers must not block: the camera is switched on its own goroutine.
			go t.switchCamera(eng, media)
		}
	}))
}

// cameraMedia says what an event makes of the call's media: video opens
// the camera, audio closes it; ok is false for events that change nothing.
func cameraMedia(ev engine.Event) (media engine.MediaType, ok bool) {
	switch ev := ev.(type) {
	case engine.CallBegin:
		return ev.MediaType, true
	case engine.CallMediaTypeChanged:
		return ev.NewType, true
	case engine.CallEnd, engine.CallCancelled:
		return engine.MediaTypeAudio, true
	}
	return engine.MediaTypeUnknown, false
}

func (t *Video) switchCamera(eng *engine.Engine, media engine.MediaType) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if media == engine.MediaTypeVideo {
		err = eng.OpenCamera(ctx, engine.CameraFront)
	} else if eng.IsCameraOpen() {
		err = eng.CloseCamera(ctx)
	}
	if err != nil {
		t.log.Warn("camera", "err", err)
	}
}

// Frame draws userID's latest picture (tui.VideoView).
func (t *Video) Frame(userID string, cols, rows int) (string, bool) {
	img, n := t.v.LastFrame(userID)
	if n == 0 || img == nil {
		return "", false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.r.Render(img, cols, rows), true
}

// Close closes the video, logging a failure.
func (t *Video) Close() {
	if err := t.v.Close(); err != nil {
		t.log.Warn("closing the video", "err", err)
	}
}
