package engine

import (
	"errors"
	"os"

	"github.com/termcall/termcall/protocol"
)

// BackgroundSetter is implemented by a VideoSource that can blur or
// replace the background behind the person before encoding (person
// segmentation; internal/callvideo's Source). Its errors are reported by
// SetBlurBackground and SetVirtualBackground as CodeVideoDevice.
type BackgroundSetter interface {
	// SetBlurBackground: 0 off, 1 low, 2 medium, 3 high.
	SetBlurBackground(level int) error
	// SetVirtualBackground replaces the background by the PNG or JPEG
	// picture at path; "" turns replacement off.
	SetVirtualBackground(path string) error
}

// Blur levels of SetBlurBackground (the reference's: 0 off, 1 low,
// 2 medium, 3 high).
const (
	BlurOff    = 0
	BlurLow    = 1
	BlurMedium = 2
	BlurHigh   = 3
)

// background is what SetBlurBackground and SetVirtualBackground set,
// handed to every video source set later; guarded by videoMgr.pmu.
type background struct {
	blur int
	path string
}

// SetBlurBackground blurs the background of the video sent, keeping the
// person sharp (the reference's setBlurBackground): 0 off (the default),
// 1 low, 2 medium, 3 high. The level is stored and handed to the video
// source if it implements BackgroundSetter (now and at every SetVideo);
// a virtual background, when set, wins over blur. A level out of range
// fails with CodeInvalidArgument; a source that cannot run the effect with
// CodeVideoDevice (and the level is not kept).
func (e *Engine) SetBlurBackground(level int) error {
	if level < BlurOff || level > BlurHigh {
		return protocol.Errorf(protocol.CodeInvalidArgument, "blur level %d; want 0 (off), 1 (low), 2 (medium) or 3 (high)", level)
	}
	v := &e.media.video
	if bs, ok := v.source().(BackgroundSetter); ok {
		if err := bs.SetBlurBackground(level); err != nil {
			return protocol.Errorf(protocol.CodeVideoDevice, "background blur: %v", err)
		}
	}
	v.pmu.Lock()
	v.bg.blur = level
	v.pmu.Unlock()
	return nil
}

// BlurBackground returns the level set by SetBlurBackground (0 by default).
func (e *Engine) BlurBackground() int {
	v := &e.media.video
	v.pmu.Lock()
	defer v.pmu.Unlock()
	return v.bg.blur
}

// SetVirtualBackground replaces the background of the video sent by the
// picture at path, a PNG or JPEG file scaled to cover the frame (the
// reference's setVirtualBackground); "" turns it off. A file that cannot
// be read fails with CodeInvalidArgument (and nothing changes); a picture
// the source cannot decode or an effect it cannot run with
// CodeVideoDevice.
func (e *Engine) SetVirtualBackground(path string) error {
	if path != "" {
		st, err := os.Stat(path)
		if err == nil && st.IsDir() {
			err = errors.New("is a directory")
		}
		if err != nil {
			return protocol.Errorf(protocol.CodeInvalidArgument, "virtual background %s: %v", path, err)
		}
	}
	v := &e.media.video
	if bs, ok := v.source().(BackgroundSetter); ok {
		if err := bs.SetVirtualBackground(path); err != nil {
			return protocol.Errorf(protocol.CodeVideoDevice, "virtual background: %v", err)
		}
	}
	v.pmu.Lock()
	v.bg.path = path
	v.pmu.Unlock()
	return nil
}

// VirtualBackground returns the picture set by SetVirtualBackground ("" for none).
func (e *Engine) VirtualBackground() string {
	v := &e.media.video
	v.pmu.Lock()
	defer v.pmu.Unlock()
	return v.bg.path
}

// handBackground gives a new video source the stored background effect.
func (e *Engine) handBackground(src VideoSource) {
	bs, ok := src.(BackgroundSetter)
	if !ok {
		return
	}
	v := &e.media.video
	v.pmu.Lock()
	bg := v.bg
	v.pmu.Unlock()
	if bg.path != "" {
		if err := bs.SetVirtualBackground(bg.path); err != nil {
			e.log.Warn("virtual background", "path", bg.path, "err", err)
		}
	}
	if bg.blur != BlurOff {
		if err := bs.SetBlurBackground(bg.blur); err != nil {
			e.log.Warn("background blur", "err", err)
		}
	}
}
