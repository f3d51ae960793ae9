// Package callvideo wires a process's video to one engine: the uplink (a
// camera, the test pattern or a file, encoded to VP8 at the engine's
// encoder parameters) as an engine.VideoSource, and the downlink (one
// frame assembler and decoder per viewed remote user, keeping the latest
// picture) as an engine.VideoSink. Render draws the latest remote picture
// in a terminal.
package callvideo

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/video"
)

// Engine is what the video wiring uses of an engine; *engine.Engine is
// one. Tests and other front ends may pass their own.
type Engine interface {
	SetVideo(src engine.VideoSource, sink engine.VideoSink)
	AddObserver(o engine.Observer)
	RemoveObserver(o engine.Observer)
	StartRemoteView(userID string, sink ...engine.VideoSink) error
	StopRemoteView(userID string)
	VideoRenderParams(userID string) engine.VideoRenderParams
	VideoEncoderParams() engine.VideoEncoderParams
	RequestKeyframe(userID string)
	CurrentCall() (engine.CallInfo, bool)
}

var _ Engine = (*engine.Engine)(nil)

// Options say where a process's call video comes from.
type Options struct {
	// Camera names the source (see video.Open): "pattern:[WxH[@FPS]]",
	// "camera:[DEVICE]", "file:PATH", PATH.y4m, PATH.ivf. Back names the
	// back camera's source (SwitchCamera); "" means Camera.
	Camera, Back string
	// FPS is the frame rate to send at (0: the source's, else 15).
	FPS int
	// BitrateKbps overrides the resolution table's bitrate (0: the table's).
	BitrateKbps int
	// Loop plays a file source over and over.
	Loop bool
	// ViewAll views every remote user whose camera is on (StartRemoteView
	// on UserVideoAvailable(true), StopRemoteView on false).
	ViewAll bool
	// RecordVideo writes the video received from the others, as assembled
	// (VP8, no re-encoding), to this IVF file; with RecordPerUser each
	// user's to FILE-<user>.ivf instead (FILE without its .ivf). A user's
	// recording starts at their first keyframe; timestamps are the RTP
	// ones (IVF timebase 1/90000).
	RecordVideo   string
	RecordPerUser bool
	// RecordDir writes, per call, each other user's video to
	// DIR/<callId>-<userId>.ivf (only when they send video); the file is
	// finished when the call ends.
	RecordDir string
	// Logger gets warnings (default slog.Default()).
	Logger *slog.Logger
	// RenderMode is Render's terminal picture mode (a video.ParseMode
	// name, the video.render config key); "" or "auto" detects it from the
	// environment (video.DetectMode).
	RenderMode string
}

// RecordingName returns the file name of a user's video recording in a
// call (Options.RecordDir).
func RecordingName(dir, callID, userID string) string {
	return filepath.Join(dir, callID+"-"+userID+".ivf")
}

// PerUserName returns the file a user's video goes to with
// Options.RecordPerUser: FILE-<user>.ivf.
func PerUserName(file, userID string) string {
	base := file
	if strings.EqualFold(filepath.Ext(base), ".ivf") {
		base = base[:len(base)-len(filepath.Ext(base))]
	}
	return base + "-" + userID + ".ivf"
}

// Video is the running video of one process. Its methods are safe for
// concurrent use.
type Video struct {
	opts Options
	log  *slog.Logger
	src  *Source
	sink *Sink
	eng  Engine
	obs  engine.Observer
}

// Open opens the source named by opts (a bad name, file or camera fails
// here, before any call).
func Open(opts Options) (*Video, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	v := &Video{opts: opts, log: opts.Logger, sink: NewSink()}
	v.sink.log = opts.Logger
	switch {
	case opts.RecordDir != "":
		if st, err := os.Stat(opts.RecordDir); err != nil || !st.IsDir() {
			if err == nil {
				err = errors.New("not a directory")
			}
			return nil, fmt.Errorf("record dir %s: %w", opts.RecordDir, err)
		}
		v.sink.recordPath = func(callID, user string) string {
			if callID == "" {
				callID = "nocall"
			}
			return RecordingName(opts.RecordDir, callID, user)
		}
		v.sink.closeOnEnd = true
	case opts.RecordVideo != "":
		if !strings.EqualFold(filepath.Ext(opts.RecordVideo), ".ivf") {
			return nil, fmt.Errorf("--record-video %s: the file name must end in .ivf", opts.RecordVideo)
		}
		var mu sync.Mutex
		first := ""
		v.sink.recordPath = func(_, user string) string {
			if opts.RecordPerUser {
				return PerUserName(opts.RecordVideo, user)
			}
			mu.Lock()
			defer mu.Unlock()
			if first == "" {
				first = user
			}
			if user != first {
				return "" // one file holds one user (RecordPerUser for more)
			}
			return opts.RecordVideo
		}
	}
	if opts.Camera != "" {
		src, err := NewSource(opts.Camera, opts)
		if err != nil {
			return nil, err
		}
		v.src = src
	}
	return v, nil
}

// Source returns the uplink source (nil without a camera).
func (v *Video) Source() *Source { return v.src }

// Sink returns the downlink sink.
func (v *Video) Sink() *Sink { return v.sink }

// Attach sets the engine's video source and sink, and with ViewAll views
// the others as their cameras open.
func (v *Video) Attach(eng Engine) {
	v.eng = eng
	v.sink.SetEngine(eng)
	if v.src != nil {
		v.src.setEngine(eng)
		eng.SetVideo(v.src, v.sink)
	} else {
		eng.SetVideo(nil, v.sink)
	}
	if v.opts.ViewAll || v.sink.closeOnEnd {
		v.obs = engine.NewObserver(func(ev engine.Event) {
			switch ev := ev.(type) {
			case engine.CallEnd:
				v.sink.endCall(ev.CallID)
			case engine.CallCancelled:
				v.sink.endCall(ev.CallID)
			}
			if ev, ok := ev.(engine.UserVideoAvailable); ok && v.opts.ViewAll {
				if ev.IsVideoAvailable {
					if err := eng.StartRemoteView(ev.UserID); err != nil {
						v.log.Warn("viewing a user", "user", ev.UserID, "err", err)
					}
				} else {
					eng.StopRemoteView(ev.UserID)
				}
			}
		})
		eng.AddObserver(v.obs)
	}
}

// LastFrame returns the latest picture decoded from userID and how many
// pictures were decoded from them (nil, 0 if none).
func (v *Video) LastFrame(userID string) (image.Image, int) { return v.sink.LastFrame(userID) }

// SaveFrame writes the latest decoded remote picture (of any user) to a
// PNG file; it fails if there is none.
func (v *Video) SaveFrame(path string) error {
	_, img, _ := v.sink.Latest()
	if img == nil {
		return errors.New("no remote video frame was decoded")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Close detaches from the engine and releases the source and decoders.
func (v *Video) Close() error {
	if v.eng != nil {
		if v.obs != nil {
			v.eng.RemoveObserver(v.obs)
		}
		v.eng.SetVideo(nil, nil)
	}
	var err error
	if v.src != nil {
		err = v.src.Close()
	}
	if rerr := v.sink.Close(); err == nil {
		err = rerr
	}
	return err
}

// Render draws the latest remote picture on w (a terminal whose size is
// size()) about fps times a second until ctx is done; it draws only when a
// new picture was decoded. The picture takes the terminal's top-left
// area, cursor-addressed, with the user's render params.
func (v *Video) Render(ctx context.Context, w io.Writer, size func() (cols, rows int), fps int) {
	if fps <= 0 {
		fps = 10
	}
	r := video.NewRenderer(video.DetectMode(func(k string) string {
		if k == video.RenderModeEnv && v.opts.RenderMode != "" {
			return v.opts.RenderMode // the option stands where the variable would
		}
		return os.Getenv(k)
	}))
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	lastN := -1
	lastUser := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		user, img, n := v.sink.Latest()
		if img == nil || (n == lastN && user == lastUser) {
			continue
		}
		lastN, lastUser = n, user
		cols, rows := size()
		rows-- // keep a line for the status messages
		if cols <= 0 || rows <= 0 {
			continue
		}
		if v.eng != nil {
			p := v.eng.VideoRenderParams(user)
			r.FillMode, r.Rotation = video.FillMode(p.FillMode), video.Rotation(p.Rotation)
		}
		out := r.Render(img, cols, rows)
		if _, err := fmt.Fprintf(w, "\x1b7\x1b[H%s\x1b8", out); err != nil {
			return
		}
	}
}

// DefaultCamera names the source --video uses without --camera: the first
// camera ("camera:"), else the test pattern ("pattern:").
func DefaultCamera() string {
	if devs, err := video.Devices(); err == nil && len(devs) > 0 {
		return "camera:"
	}
	return "pattern:"
}
