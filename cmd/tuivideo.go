package cmd

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

// tuiVideo gives the TUI its video: the camera (or pattern) is sent in
// video calls only, the others are viewed as their cameras open, and their
// pictures are drawn as text (half-blocks or the 256-color / ASCII
// fallbacks: kitty and sixel pictures cannot live inside a bubbletea view).
type tuiVideo struct {
	v   *callvideo.Video
	mu  sync.Mutex
	r   video.Renderer
	eng *engine.Engine
	log *slog.Logger
}

func openTUIVideo(camera, back, render string, log *slog.Logger) (*tuiVideo, error) {
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
	return &tuiVideo{v: v, r: video.Renderer{Mode: mode, FillMode: video.FillModeFit}, log: log}, nil
}

// attach wires the video to the engine and opens the camera for video
// calls only (closing it when a call turns to audio or ends).
func (t *tuiVideo) attach(eng *engine.Engine) {
	t.eng = eng
	t.v.Attach(eng)
	eng.AddObserver(engine.NewObserver(func(ev engine.Event) {
		media := engine.MediaTypeUnknown
		switch ev := ev.(type) {
		case engine.CallBegin:
			media = ev.MediaType
		case engine.CallMediaTypeChanged:
			media = ev.NewType
		case engine.CallEnd, engine.CallCancelled:
			media = engine.MediaTypeAudio
		default:
			return
		}
		// Observers must not block: the camera is switched on its own goroutine.
		go func() {
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
		}()
	}))
}

// Frame draws userID's latest picture (tui.VideoView).
func (t *tuiVideo) Frame(userID string, cols, rows int) (string, bool) {
	img, n := t.v.LastFrame(userID)
	if n == 0 || img == nil {
		return "", false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.r.Render(img, cols, rows), true
}

func (t *tuiVideo) close() {
	if err := t.v.Close(); err != nil {
		t.log.Warn("closing the video", "err", err)
	}
}
