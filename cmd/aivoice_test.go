package cmd

import (
	"testing"

	"github.com/spf13/pflag"

	"github.com/termcall/termcall/config"
)

// TestAIVoiceFlag: --ai-voice overrides audio.ai_voice both ways; without
// the flag the config file's value stays.
func TestAIVoiceFlag(t *testing.T) {
	for _, c := range []struct {
		args      []string
		file, out bool
	}{
		{nil, false, false},
		{nil, true, true},
		{[]string{"--ai-voice"}, false, true},
		{[]string{"--ai-voice=false"}, true, false},
	} {
		fl := pflag.NewFlagSet("call", pflag.ContinueOnError)
		addAIVoiceFlag(fl)
		if err := fl.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Audio.AIVoice = c.file
		applyAIVoiceFlag(fl, &cfg)
		if cfg.Audio.AIVoice != c.out {
			t.Errorf("%v with audio.ai_voice %v: AI voice %v, want %v", c.args, c.file, cfg.Audio.AIVoice, c.out)
		}
	}
	// a command without the flag is left alone
	fl := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	cfg := config.Default()
	cfg.Audio.AIVoice = true
	applyAIVoiceFlag(fl, &cfg)
	if !cfg.Audio.AIVoice {
		t.Error("a command without --ai-voice changed audio.ai_voice")
	}
}
