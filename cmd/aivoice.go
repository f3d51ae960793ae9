package cmd

import (
	"github.com/spf13/pflag"

	"github.com/termcall/termcall/config"
)

// addAIVoiceFlag adds --ai-voice (call, groupcall, join, bot); g.config
// applies it over audio.ai_voice, and newSession gives the engine the
// result (Engine.EnableAIVoice, applied to the audio source).
func addAIVoiceFlag(fl *pflag.FlagSet) {
	fl.Bool("ai-voice", false, "AI noise suppression (RNNoise) of what you send (default from audio.ai_voice)")
}

// applyAIVoiceFlag sets cfg.Audio.AIVoice from --ai-voice when given.
func applyAIVoiceFlag(fl *pflag.FlagSet, cfg *config.Config) {
	if fl.Lookup("ai-voice") != nil && fl.Changed("ai-voice") {
		cfg.Audio.AIVoice, _ = fl.GetBool("ai-voice")
	}
}
