package cmd

// --- seg: blur, background ---

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/exit"
)

// Help texts of the --blur and --background flags.
const (
	blurFlagHelp       = "blur the background behind you in the video you send: 0 off, 1 low, 2 medium, 3 high (default: video.blur)"
	backgroundFlagHelp = "replace the background behind you by this PNG or JPEG picture (wins over --blur; default: video.background)"
)

// backgroundFlags are --blur and --background (call, groupcall, join, tui).
type backgroundFlags struct {
	blur int
	path string
}

func (b *backgroundFlags) add(fl *pflag.FlagSet) {
	fl.IntVar(&b.blur, "blur", 0, blurFlagHelp)
	fl.StringVar(&b.path, "background", "", backgroundFlagHelp)
}

// resolve applies the flags that were given over the config's keys.
func (b *backgroundFlags) resolve(fl *pflag.FlagSet, cfg *config.Config) error {
	if fl.Changed("blur") {
		if b.blur < engine.BlurOff || b.blur > engine.BlurHigh {
			return exit.Usagef("--blur %d: want 0 (off), 1 (low), 2 (medium) or 3 (high)", b.blur)
		}
		cfg.Video.Blur = b.blur
	}
	if fl.Changed("background") {
		cfg.Video.Background = b.path
	}
	return nil
}

// applyBackground hands the config's blur and background to the engine
// (and so to the video source, now or when it is set).
func applyBackground(eng *engine.Engine, cfg config.Config) error {
	if cfg.Video.Background != "" {
		if err := eng.SetVirtualBackground(cfg.Video.Background); err != nil {
			return exit.With(exit.Usage, fmt.Errorf("--background: %w", err))
		}
	}
	if err := eng.SetBlurBackground(cfg.Video.Blur); err != nil {
		return exit.With(exit.Usage, fmt.Errorf("--blur: %w", err))
	}
	return nil
}
