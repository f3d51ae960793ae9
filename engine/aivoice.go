package engine

import "github.com/termcall/termcall/protocol"

// AIVoiceEnabler is implemented by an AudioSource that can run learned
// noise suppression on what it sends (EnableAIVoice): audio.Uplink and
// the bot's echo source do, with RNNoise. It may be called from another
// goroutine while ReadOpusFrame runs.
type AIVoiceEnabler interface {
	EnableAIVoice(on bool) error
}

// EnableAIVoice turns AI noise suppression of the sent audio on or off
// (the reference's enableAIVoice; off by default). The choice is
// remembered and applied to every audio source given later by SetAudio;
// a source without it (none set, or one that cannot) ignores it. When the
// current source fails to load its model the error carries
// protocol.CodeAIVoice and the setting stays off.
func (e *Engine) EnableAIVoice(on bool) error {
	m := &e.media
	m.aiMu.Lock()
	defer m.aiMu.Unlock()
	if a := m.audio.Load(); a != nil {
		if en, ok := a.src.(AIVoiceEnabler); ok {
			if err := en.EnableAIVoice(on); err != nil {
				m.aiVoice = false
				return protocol.Errorf(protocol.CodeAIVoice, "enable AI voice: %w", err)
			}
		}
	}
	m.aiVoice = on
	return nil
}

// AIVoiceEnabled says whether EnableAIVoice turned AI noise suppression on.
func (e *Engine) AIVoiceEnabled() bool {
	m := &e.media
	m.aiMu.Lock()
	defer m.aiMu.Unlock()
	return m.aiVoice
}

// storeAudio installs new audio (SetAudio), giving its source the
// remembered setting; under aiMu, so that no EnableAIVoice falls between.
func (m *mediaMgr) storeAudio(a *audioIO) {
	m.aiMu.Lock()
	defer m.aiMu.Unlock()
	if en, ok := a.src.(AIVoiceEnabler); ok && m.aiVoice {
		if err := en.EnableAIVoice(true); err != nil {
			m.aiVoice = false
		}
	}
	m.audio.Store(a)
}
