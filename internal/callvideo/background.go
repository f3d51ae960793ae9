package callvideo

import (
	"fmt"
	"image"
	"sync"

	"github.com/termcall/termcall/video/segment"
)

// background is a Source's blur / virtual background: the segmentation
// effect, made at the first use (the model is loaded then) and applied
// to each frame by ReadVP8Frame. Its methods are safe for concurrent use;
// apply runs on the reading goroutine only.
type background struct {
	mu    sync.Mutex
	eff   *segment.Effect // nil until first turned on
	blur  int
	path  string
	img   image.Image // path's picture, decoded once
	dirty bool        // blur/img changed since the effect last took them
}

// effectLocked returns the effect, making it (b.mu held).
func (b *background) effectLocked() (*segment.Effect, error) {
	if b.eff == nil {
		e, err := segment.NewEffect()
		if err != nil {
			return nil, fmt.Errorf("person segmentation: %w", err)
		}
		b.eff = e
	}
	return b.eff, nil
}

func (b *background) setBlur(level int) error {
	if level < segment.BlurOff || level > segment.BlurHigh {
		return fmt.Errorf("blur level %d; want 0 (off) to 3 (high)", level)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if level != segment.BlurOff {
		if _, err := b.effectLocked(); err != nil {
			return err
		}
	}
	b.blur, b.dirty = level, true
	return nil
}

func (b *background) setPicture(path string) error {
	var img image.Image
	if path != "" {
		var err error
		if img, err = segment.LoadBackground(path); err != nil {
			return err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if img != nil {
		if _, err := b.effectLocked(); err != nil {
			return err
		}
	}
	b.path, b.img, b.dirty = path, img, true
	return nil
}

func (b *background) settings() (blur int, path string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.blur, b.path
}

// apply runs the effect on a frame (nothing when it is off).
func (b *background) apply(img *image.YCbCr) {
	b.mu.Lock()
	eff := b.eff
	if eff != nil && b.dirty {
		_ = eff.SetBlur(b.blur) // checked by setBlur
		eff.SetBackground(b.img)
		b.dirty = false
	}
	b.mu.Unlock()
	if eff != nil && eff.Active() {
		eff.Apply(img)
	}
}

// SetBlurBackground blurs the background behind the person, 0 (off) to 3
// (engine.BackgroundSetter); a virtual background wins over it.
func (s *Source) SetBlurBackground(level int) error { return s.bg.setBlur(level) }

// SetVirtualBackground replaces the background behind the person by the
// PNG or JPEG picture at path ("" off); the picture is decoded here, once
// (engine.BackgroundSetter).
func (s *Source) SetVirtualBackground(path string) error { return s.bg.setPicture(path) }

// Background returns the blur level and the virtual background's path.
func (s *Source) Background() (blur int, path string) { return s.bg.settings() }
