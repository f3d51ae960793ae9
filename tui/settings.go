package tui

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Settings are the Kit settings of the session: what the settings screen
// shows and changes. Each change is handed to Options.SaveSettings (cmd
// keeps it in the state file, internal/state, for the next start; the
// config file is never rewritten).
type Settings struct {
	Devices        AudioDevices
	Camera         string // the video source: "pattern:", a device, a file
	Ringtone       string // "" = the built-in ring
	MuteMode       bool
	IncomingBanner bool
	FloatWindow    bool
	Lang           string
	Nickname       string
	Avatar         string
	AIVoice        bool // --- kit: audio --- (engine.EnableAIVoice)
	// --- kit: beauty ---
	Beauty float64 // 0 (off) .. 9
	Blur   int     // --- seg --- background blur, 0 (off) .. 3 (engine.SetBlurBackground)
}

// settingField is one row of the settings screen.
type settingField int

const (
	fieldMic settingField = iota
	fieldSpeaker
	fieldEarpiece
	fieldCamera
	fieldRingtone
	fieldMuteMode
	fieldBanner
	fieldFloat
	fieldLang
	fieldNickname
	fieldAvatar
	fieldAIVoice // --- kit: audio ---
	fieldBeauty  // --- kit: beauty ---
	fieldBlur    // --- seg ---
	numFields
)

type fieldKind int

const (
	kindChoice fieldKind = iota
	kindText
	kindToggle
)

func (f settingField) kind() fieldKind {
	switch f {
	case fieldMic, fieldSpeaker, fieldEarpiece, fieldLang, fieldBeauty, fieldBlur:
		return kindChoice
	case fieldCamera, fieldRingtone, fieldNickname, fieldAvatar:
		return kindText
	}
	return kindToggle
}

func (f settingField) label() string {
	return [...]string{"set.mic", "set.speaker", "set.earpiece", "set.camera", "set.ringtone", "set.mutemode",
		"set.banner", "set.float", "set.lang", "set.nickname", "set.avatar", "set.aivoice", "set.beauty", "set.blur"}[f]
}

// Setting keys: what Options.SaveSettings is told changed. Stable: the
// state file's mapping (internal/state) uses them.
const (
	SetMic            = "mic"
	SetSpeaker        = "speaker"
	SetEarpiece       = "earpiece"
	SetCamera         = "camera"
	SetRingtone       = "ringtone"
	SetMuteMode       = "muteMode"
	SetIncomingBanner = "incomingBanner"
	SetFloatWindow    = "floatWindow"
	SetLang           = "lang"
	SetNickname       = "nickname"
	SetAvatar         = "avatar"
	SetBeauty         = "beauty"
	SetAIVoice        = "aiVoice"
	SetBlur           = "blur" // --- seg ---
)

// key is the field's setting key.
func (f settingField) key() string {
	return [...]string{SetMic, SetSpeaker, SetEarpiece, SetCamera, SetRingtone, SetMuteMode,
		SetIncomingBanner, SetFloatWindow, SetLang, SetNickname, SetAvatar, SetAIVoice, SetBeauty, SetBlur}[f]
}

// langs are the languages the language row cycles through.
var langs = []string{LangEnglish, LangChinese, LangJapanese}

// beautyLevels are the levels the beauty row cycles through (the
// reference's 0..9, 0 = off).
var beautyLevels = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// blurLevels are the background blur row's levels (the reference's
// setBlurBackground: 0 off, 1 low, 2 medium, 3 high). --- seg ---
var blurLevels = []string{"0", "1", "2", "3"}

// settingsModel is the settings screen. It owns only the cursor and the
// text being edited; the values are the root's (vals), and changes go to
// the root as setMsg.
type settingsModel struct {
	st   *Styles
	keys *KeyMap
	cat  *Catalog
	vals *Settings

	devices     []DeviceInfo
	devicesErr  string
	loaded      bool
	pending     bool // device changes wait for the call to end
	noAudioCtl  bool // nothing applies device changes
	cursor      int
	editing     bool
	buf         []rune
	width, high int
}

func (s *settingsModel) SetSize(w, h int) { s.width, s.high = w, h }

// Typing says whether keys go to a text field.
func (s settingsModel) Typing() bool { return s.editing }

func (s settingsModel) field() settingField { return settingField(s.cursor) }

// value is a field's value as a string ("on"/"off" for toggles).
func (v *Settings) value(f settingField) string {
	switch f {
	case fieldMic:
		return v.Devices.Mic
	case fieldSpeaker:
		return v.Devices.Speaker
	case fieldEarpiece:
		return v.Devices.Earpiece
	case fieldCamera:
		return v.Camera
	case fieldRingtone:
		return v.Ringtone
	case fieldMuteMode:
		return onOff(v.MuteMode)
	case fieldBanner:
		return onOff(v.IncomingBanner)
	case fieldFloat:
		return onOff(v.FloatWindow)
	case fieldLang:
		return v.Lang
	case fieldNickname:
		return v.Nickname
	case fieldAvatar:
		return v.Avatar
	case fieldAIVoice: // --- kit: audio ---
		return onOff(v.AIVoice)
	case fieldBeauty:
		return strconv.FormatFloat(v.Beauty, 'g', -1, 64)
	case fieldBlur: // --- seg ---
		return strconv.Itoa(v.Blur)
	}
	return ""
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// choices are the values a choice row cycles through: "" (the default)
// and the device names of the right kind, or the languages.
func (s settingsModel) choices(f settingField) []string {
	if f == fieldLang {
		return langs
	}
	if f == fieldBeauty {
		return beautyLevels
	}
	if f == fieldBlur { // --- seg ---
		return blurLevels
	}
	out := []string{""}
	for _, d := range s.devices {
		if d.Capture == (f == fieldMic) && !slices.Contains(out, d.Name) {
			out = append(out, d.Name)
		}
	}
	if cur := s.vals.value(f); !slices.Contains(out, cur) {
		out = append(out, cur)
	}
	return out
}

func (s settingsModel) set(f settingField, v string) tea.Cmd {
	return func() tea.Msg { return setMsg{field: f, value: v} }
}

func (s settingsModel) Update(msg tea.Msg) (settingsModel, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return s, nil
	}
	f := s.field()
	if s.editing {
		switch k.String() {
		case "enter":
			s.editing = false
			return s, s.set(f, strings.TrimSpace(string(s.buf)))
		case "esc":
			s.editing, s.buf = false, nil
		case "backspace":
			if len(s.buf) > 0 {
				s.buf = s.buf[:len(s.buf)-1]
			}
		case "ctrl+u":
			s.buf = nil
		case "space":
			s.buf = append(s.buf, ' ')
		default:
			if k.Text != "" && k.Mod&^tea.ModShift == 0 {
				s.buf = append(s.buf, []rune(k.Text)...)
			}
		}
		return s, nil
	}
	switch {
	case key.Matches(k, s.keys.Up):
		s.cursor = max(0, s.cursor-1)
	case key.Matches(k, s.keys.Down):
		s.cursor = min(int(numFields)-1, s.cursor+1)
	case key.Matches(k, s.keys.Back):
		return s, func() tea.Msg { return homeMsg{} }
	case key.Matches(k, s.keys.Next), key.Matches(k, s.keys.Change):
		return s, s.change(f, +1)
	case key.Matches(k, s.keys.Prev):
		return s, s.change(f, -1)
	}
	return s, nil
}

// change toggles a toggle, cycles a choice by step, or starts editing a
// text field.
func (s *settingsModel) change(f settingField, step int) tea.Cmd {
	switch f.kind() {
	case kindToggle:
		return s.set(f, onOff(s.vals.value(f) != "on"))
	case kindChoice:
		c := s.choices(f)
		i := slices.Index(c, s.vals.value(f))
		return s.set(f, c[(i+step+len(c))%len(c)])
	}
	if step < 0 {
		return nil
	}
	s.editing = true
	s.buf = []rune(s.vals.value(f))
	return nil
}

func (s settingsModel) Help() bindings {
	k := s.keys
	if s.editing {
		return bindings{short: []key.Binding{k.Save, k.Back}, full: [][]key.Binding{{k.Save, k.Back}}}
	}
	return bindings{
		short: []key.Binding{k.Up, k.Down, k.Change, k.Next, k.Back, k.Help, k.Quit},
		full:  [][]key.Binding{{k.Up, k.Down}, {k.Change, k.Next, k.Prev}, {k.Back, k.Help, k.Quit}},
	}
}

// display is a field's value as the screen shows it.
func (s settingsModel) display(f settingField) string {
	t := s.cat.T
	v := s.vals.value(f)
	switch f {
	case fieldMic, fieldSpeaker:
		if v == "" {
			v = t("set.default")
		}
	case fieldEarpiece:
		if v == "" {
			v = t("set.samespeaker")
		}
	case fieldRingtone:
		if v == "" {
			v = t("set.builtin")
		}
	case fieldMuteMode, fieldBanner, fieldFloat:
		v = t("set." + v)
	case fieldLang:
		v = t("lang." + v)
	case fieldNickname, fieldAvatar:
		if v == "" {
			v = t("set.unset")
		}
	case fieldAIVoice: // --- kit: audio ---
		v = t("set." + v)
	case fieldBeauty, fieldBlur:
		if v == "0" {
			v = t("set.off")
		}
	}
	return v
}

// note is the dim remark after a field's value.
func (s settingsModel) note(f settingField) string {
	t := s.cat.T
	switch f {
	case fieldMic, fieldSpeaker, fieldEarpiece:
		switch {
		case s.pending:
			return t("set.nextcall")
		case s.noAudioCtl:
			return t("set.norestart")
		}
	case fieldCamera:
		return t("set.camera.note")
	}
	return ""
}

func (s settingsModel) View() string {
	st, t := s.st, s.cat.T
	lines := []string{st.Section.Render(t("set.title")) + st.Dim.Render("  "+t("set.session")), ""}
	const labelW = 18
	for f := range numFields {
		label := pad(t(f.label()), labelW)
		val := s.display(f)
		if s.editing && f == s.field() {
			val = st.Header.Render(string(s.buf) + "█")
		}
		line := label + " " + val
		if n := s.note(f); n != "" {
			line += "  " + st.Dim.Render(n)
		}
		if int(f) == s.cursor {
			lines = append(lines, st.Selected.Render("> ")+ansiTruncate(line, max(1, s.width-2)))
		} else {
			lines = append(lines, "  "+ansiTruncate(line, max(1, s.width-2)))
		}
		if f == fieldEarpiece || f == fieldRingtone || f == fieldLang || f == fieldAvatar {
			lines = append(lines, "")
		}
	}
	lines = append(lines, "")
	switch {
	case s.devicesErr != "":
		lines = append(lines, st.Dim.Render(truncate(t("set.devices.err", s.devicesErr), max(1, s.width))))
	case !s.loaded:
		lines = append(lines, st.Dim.Render(t("set.devices.loading")))
	default:
		for _, capture := range []bool{true, false} {
			var names []string
			for _, d := range s.devices {
				if d.Capture == capture {
					names = append(names, d.Name)
				}
			}
			k := map[bool]string{true: "set.devices.in", false: "set.devices.out"}[capture]
			lines = append(lines, st.Dim.Render(truncate(t(k, strings.Join(names, ", ")), max(1, s.width))))
		}
	}
	return strings.Join(lines, "\n")
}

// Settings returns the session's current settings.
func (m *Model) Settings() Settings { return m.set }

// loadDevices lists the sound devices for the settings screen.
func (m *Model) loadDevices() tea.Cmd {
	f := m.opts.Devices
	if f == nil {
		m.settings.loaded = true
		return nil
	}
	return func() tea.Msg {
		list, err := f()
		return devicesMsg{list: list, err: err}
	}
}

// applySetting applies one change made on the settings screen.
func (m *Model) applySetting(f settingField, v string) tea.Cmd {
	t := m.cat.T
	switch f {
	case fieldMic, fieldSpeaker, fieldEarpiece:
		prev := m.set.Devices
		d := prev
		switch f {
		case fieldMic:
			d.Mic = v
		case fieldSpeaker:
			d.Speaker = v
		default:
			d.Earpiece = v
		}
		if d == prev {
			return nil
		}
		m.set.Devices = d
		switch {
		case m.opts.Audio == nil:
			m.setStatus(t("st.set.devices.norestart", m.deviceSummary(d)))
			return m.persist(f)
		case m.call != nil:
			if m.pendingDevs == nil {
				m.pendingDevs = &prev
			}
			m.settings.pending = true
			m.setStatus(t("st.set.devices.next", m.deviceSummary(d)))
			return m.persist(f)
		}
		return m.applyDevices(d, prev)
	case fieldCamera:
		if v == "" {
			v = "pattern:"
		}
		m.set.Camera = v
		m.setStatus(t("st.set.camera", v))
		return m.persist(f)
	case fieldRingtone:
		if m.opts.Audio == nil {
			m.set.Ringtone = v
			return m.persist(f)
		}
		a := m.opts.Audio
		return func() tea.Msg { return bellMsg{path: v, err: a.SetCallingBell(v)} }
	case fieldMuteMode:
		on := v == "on"
		m.set.MuteMode = on
		if m.opts.Audio != nil {
			m.opts.Audio.EnableMuteMode(on)
		}
		if on && m.call != nil && m.call.phase == phaseIncoming {
			m.stopRinging()
		}
		m.setStatus(t("st.set.toggle", t("set.mutemode"), t("set."+v)))
		return m.persist(f)
	case fieldBanner:
		m.set.IncomingBanner = v == "on"
		m.setStatus(t("st.set.toggle", t("set.banner"), t("set."+v)))
		return m.persist(f)
	case fieldFloat:
		on := v == "on"
		m.set.FloatWindow = on
		if m.call != nil {
			m.call.floatWindow = on
			if !on {
				m.call.compact = false
			}
		}
		m.setStatus(t("st.set.toggle", t("set.float"), t("set."+v)))
		return m.persist(f)
	case fieldLang:
		m.setLang(v)
		m.setStatus(m.cat.T("st.set.lang", m.cat.T("lang."+m.cat.Lang())))
		return m.persist(f)
	case fieldNickname:
		return m.act.selfInfo(v, m.set.Avatar)
	case fieldAvatar:
		return m.act.selfInfo(m.set.Nickname, v)
	case fieldAIVoice: // --- kit: audio ---
		return m.setAIVoice(v == "on")
	case fieldBeauty:
		level, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil
		}
		if b, ok := m.opts.Engine.(beautySetter); ok {
			if err := b.SetBeautyLevel(level); err != nil {
				m.setError(err)
				return nil
			}
		}
		m.set.Beauty = level
		m.setStatus(t("st.set.beauty", v))
		return m.persist(f)
	case fieldBlur: // --- seg ---
		return m.setBlur(v)
	}
	return nil
}

// --- kit: audio ---

// aiVoicer is the part of the engine the AI voice row needs
// (engine.Engine has it; an Engine without it shows the row, off, and a
// change only says it is not available).
type aiVoicer interface {
	EnableAIVoice(on bool) error
	AIVoiceEnabled() bool
}

// aiVoiceOf is the engine's AI voice setting (false without one).
func aiVoiceOf(e Engine) bool {
	a, ok := e.(aiVoicer)
	return ok && a.AIVoiceEnabled()
}

// setAIVoice turns AI noise suppression on or off through the engine (it
// applies at once, during a call too). The first time it loads the model
// (about 0.1 s), so it runs as a command; when it fails the row goes back
// to off and the error is shown (aiVoiceMsg).
func (m *Model) setAIVoice(on bool) tea.Cmd {
	a, ok := m.act.eng.(aiVoicer)
	if !ok {
		m.set.AIVoice = false
		return func() tea.Msg { return aiVoiceMsg{err: errors.New(m.cat.T("set.ai.none"))} }
	}
	m.set.AIVoice = on
	return func() tea.Msg { return aiVoiceMsg{on: on, err: a.EnableAIVoice(on)} }
}

// aiVoiceMsg is the result of setAIVoice.
type aiVoiceMsg struct {
	on  bool
	err error
}

func (m *Model) aiVoiceDone(msg aiVoiceMsg) tea.Cmd {
	t := m.cat.T
	if msg.err != nil {
		m.set.AIVoice = false
		m.setError(msg.err)
		return nil
	}
	m.setStatus(t("st.set.toggle", t("set.aivoice"), t("set."+onOff(msg.on))))
	return m.persist(fieldAIVoice)
}

// --- seg: background blur ---

// blurrer is the engine's background blur (*engine.Engine has it).
type blurrer interface {
	SetBlurBackground(level int) error
	BlurBackground() int
}

// blurOf is the engine's blur level (0 without one).
func blurOf(e Engine) int {
	if b, ok := e.(blurrer); ok {
		return b.BlurBackground()
	}
	return 0
}

// setBlur applies the blur row's level through the engine. The first
// level > 0 loads the model (parsed once, some tens of ms), which is short
// enough to do here rather than in a command.
func (m *Model) setBlur(v string) tea.Cmd {
	level, err := strconv.Atoi(v)
	if err != nil {
		return nil
	}
	if b, ok := m.opts.Engine.(blurrer); ok {
		if err := b.SetBlurBackground(level); err != nil {
			m.setError(err)
			return nil
		}
	}
	m.set.Blur = level
	m.setStatus(m.cat.T("st.set.blur", v))
	return m.persist(fieldBlur)
}

// beautySetter is the engine's SetBeautyLevel (*engine.Engine has it).
type beautySetter interface {
	SetBeautyLevel(level float64) error
}

// persist hands the settings to Options.SaveSettings after field changed;
// a failure shows in the status line and keeps the change for the session.
func (m *Model) persist(f settingField) tea.Cmd {
	save := m.opts.SaveSettings
	if save == nil {
		return nil
	}
	s, k := m.set, f.key()
	return func() tea.Msg {
		if err := save(k, s); err != nil {
			return errStatusMsg{err: err}
		}
		return nil
	}
}

// applyDevices switches the sound devices through Options.Audio; prev is
// what to go back to when that fails.
func (m *Model) applyDevices(d, prev AudioDevices) tea.Cmd {
	a := m.opts.Audio
	if a == nil {
		return nil
	}
	return func() tea.Msg {
		sending, err := a.SetDevices(d)
		return audioDevicesMsg{devs: d, prev: prev, sending: sending, err: err}
	}
}

// deviceSummary is the devices for the status line.
func (m *Model) deviceSummary(d AudioDevices) string {
	name := func(s, def string) string {
		if s == "" {
			return m.cat.T(def)
		}
		return s
	}
	return m.cat.T("set.mic") + " " + name(d.Mic, "set.default") + ", " +
		m.cat.T("set.speaker") + " " + name(d.Speaker, "set.default") + ", " +
		m.cat.T("set.earpiece") + " " + name(d.Earpiece, "set.samespeaker")
}

// setLang switches the UI's language at once: the catalog and the key
// help are shared with the sub-models, so they follow.
func (m *Model) setLang(lang string) {
	*m.cat = *NewCatalog(lang)
	m.keys = DefaultKeyMap(m.cat)
	m.set.Lang = m.cat.Lang()
}
