package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/termcall/termcall/engine"
)

// --- kit: control ---

// externalMsg says that something outside the UI (a --control command)
// changed the engine.
type externalMsg struct{ what string }

// ExternalChange is the message to send (tea.Program.Send) after something
// other than the UI changed the engine's state, e.g. a `termcall ctl`
// command (what is its name): the UI reads the microphone, the playback
// route and the beauty level back from the engine and says what changed.
func ExternalChange(what string) tea.Msg { return externalMsg{what: what} }

// engineState is what the UI reads back; *engine.Engine has it.
type engineState interface {
	IsMicrophoneOpen() bool
	AudioPlaybackDevice() engine.AudioPlaybackDevice
	BeautyLevel() float64
}

func (m *Model) syncFromEngine(what string) {
	if st, ok := m.opts.Engine.(engineState); ok {
		m.micMuted = !st.IsMicrophoneOpen()
		if m.call != nil {
			m.call.muted = m.micMuted
			m.call.route = st.AudioPlaybackDevice()
		}
		m.set.Beauty = st.BeautyLevel()
	}
	m.set.Blur = blurOf(m.opts.Engine) // --- seg ---
	m.set.Background = backgroundOf(m.opts.Engine)
	m.setStatus(m.cat.T("st.external", what))
}
