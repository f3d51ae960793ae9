package tui

import (
	"errors"
	"fmt"
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
	// Background is the virtual background picture ("" = none;
	// engine.SetVirtualBackground). --- seg ---
	Background string
}

// settingField is one row of the settings screen (an index in
// settingRows).
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
	fieldBackground
	numFields
)

type fieldKind int

const (
	kindChoice fieldKind = iota // enter and ←/→ cycle through choices
	kindText                    // enter edits the text
	kindToggle                  // enter turns it on or off
)

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
	SetBackground     = "background"
)

// settingRow is one row of the settings screen: everything the screen and
// the root model need to know about it.
type settingRow struct {
	label string // the catalog key of its label
	key   string // its setting key (Set*), as SaveSettings is told
	kind  fieldKind
	gap   bool // a blank line follows it (it ends a group)
	// get reads its value from the settings ("on"/"off" for a toggle).
	get func(*Settings) string
	// show is the value as the screen shows it; nil: as it is.
	show func(c *Catalog, v string) string
	// note is the dim remark after the value; nil: none.
	note func(s *settingsModel) string
	// choices are the values a choice row cycles through.
	choices func(s *settingsModel, r settingRow) []string
	// apply makes a change take effect (on the root model).
	apply func(m *Model, r settingRow, v string) tea.Cmd
}

// settingRows is the settings screen, one entry per row, in screen order.
// A new setting is a field constant, an entry here, a Settings field and
// its apply function.
var settingRows = [numFields]settingRow{
	fieldMic: {label: "set.mic", key: SetMic, kind: kindChoice,
		get:  func(v *Settings) string { return v.Devices.Mic },
		show: unsetAs("set.default"), note: deviceNote, choices: deviceChoices(true), apply: (*Model).applyMic},
	fieldSpeaker: {label: "set.speaker", key: SetSpeaker, kind: kindChoice,
		get:  func(v *Settings) string { return v.Devices.Speaker },
		show: unsetAs("set.default"), note: deviceNote, choices: deviceChoices(false), apply: (*Model).applySpeaker},
	fieldEarpiece: {label: "set.earpiece", key: SetEarpiece, kind: kindChoice, gap: true,
		get:  func(v *Settings) string { return v.Devices.Earpiece },
		show: unsetAs("set.samespeaker"), note: deviceNote, choices: deviceChoices(false), apply: (*Model).applyEarpiece},
	fieldCamera: {label: "set.camera", key: SetCamera, kind: kindText,
		get:  func(v *Settings) string { return v.Camera },
		note: func(*settingsModel) string { return "set.camera.note" }, apply: (*Model).applyCamera},
	fieldRingtone: {label: "set.ringtone", key: SetRingtone, kind: kindText, gap: true,
		get:  func(v *Settings) string { return v.Ringtone },
		show: unsetAs("set.builtin"), apply: (*Model).applyRingtone},
	fieldMuteMode: {label: "set.mutemode", key: SetMuteMode, kind: kindToggle,
		get:  func(v *Settings) string { return onOff(v.MuteMode) },
		show: onOffText, apply: (*Model).applyMuteMode},
	fieldBanner: {label: "set.banner", key: SetIncomingBanner, kind: kindToggle,
		get:  func(v *Settings) string { return onOff(v.IncomingBanner) },
		show: onOffText, apply: (*Model).applyBanner},
	fieldFloat: {label: "set.float", key: SetFloatWindow, kind: kindToggle,
		get:  func(v *Settings) string { return onOff(v.FloatWindow) },
		show: onOffText, apply: (*Model).applyFloat},
	fieldLang: {label: "set.lang", key: SetLang, kind: kindChoice, gap: true,
		get:  func(v *Settings) string { return v.Lang },
		show: func(c *Catalog, v string) string { return c.T("lang." + v) }, choices: fixedChoices(langs), apply: (*Model).applyLang},
	fieldNickname: {label: "set.nickname", key: SetNickname, kind: kindText,
		get:  func(v *Settings) string { return v.Nickname },
		show: unsetAs("set.unset"), apply: (*Model).applyNickname},
	fieldAvatar: {label: "set.avatar", key: SetAvatar, kind: kindText, gap: true,
		get:  func(v *Settings) string { return v.Avatar },
		show: unsetAs("set.unset"), apply: (*Model).applyAvatar},
	fieldAIVoice: {label: "set.aivoice", key: SetAIVoice, kind: kindToggle, // --- kit: audio ---
		get:  func(v *Settings) string { return onOff(v.AIVoice) },
		show: onOffText, apply: (*Model).applyAIVoice},
	fieldBeauty: {label: "set.beauty", key: SetBeauty, kind: kindChoice, // --- kit: beauty ---
		get:  func(v *Settings) string { return strconv.FormatFloat(v.Beauty, 'g', -1, 64) },
		show: beautyText, choices: fixedChoices(beautyLevels), apply: (*Model).applyBeauty},
	fieldBlur: {label: "set.blur", key: SetBlur, kind: kindChoice, // --- seg ---
		get:  func(v *Settings) string { return strconv.Itoa(v.Blur) },
		show: beautyText, choices: fixedChoices(blurLevels), apply: (*Model).applyBlur},
	fieldBackground: {label: "set.background", key: SetBackground, kind: kindText,
		get:  func(v *Settings) string { return v.Background },
		show: unsetAs("set.unset"), apply: (*Model).applyBackground},
}

func (f settingField) row() settingRow { return settingRows[f] }
func (f settingField) label() string   { return settingRows[f].label }

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// unsetAs shows an empty value as the catalog's text for key.
func unsetAs(key string) func(*Catalog, string) string {
	return func(c *Catalog, v string) string {
		if v == "" {
			return c.T(key)
		}
		return v
	}
}

func onOffText(c *Catalog, v string) string { return c.T("set." + v) }

func beautyText(c *Catalog, v string) string {
	if v == "0" {
		return c.T("set.off")
	}
	return v
}

// deviceNote: the device rows say when a change waits for the call to end,
// or that nothing applies it.
func deviceNote(s *settingsModel) string {
	switch {
	case s.pending:
		return "set.nextcall"
	case s.noAudioCtl:
		return "set.norestart"
	}
	return ""
}

// deviceChoices: "" (the default), the device names of the kind (capture
// or playback), and the current value if no device has it.
func deviceChoices(capture bool) func(*settingsModel, settingRow) []string {
	return func(s *settingsModel, r settingRow) []string {
		out := []string{""}
		for _, d := range s.devices {
			if d.Capture == capture && !slices.Contains(out, d.Name) {
				out = append(out, d.Name)
			}
		}
		if cur := r.get(s.vals); !slices.Contains(out, cur) {
			out = append(out, cur)
		}
		return out
	}
}

func fixedChoices(list []string) func(*settingsModel, settingRow) []string {
	return func(*settingsModel, settingRow) []string { return list }
}

// langs are the languages the language row cycles through.
var langs = []string{LangEnglish, LangChinese, LangJapanese}

// beautyLevels are the levels the beauty row cycles through (the
// reference's 0..9, 0 = off).
var beautyLevels = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// SettingsKeys are the settings screen's keys.
type SettingsKeys struct {
	Up     key.Binding
	Down   key.Binding
	Change key.Binding
	Next   key.Binding
	Prev   key.Binding
	Save   key.Binding
	Back   key.Binding
	Help   key.Binding
	Quit   key.Binding
}

func settingsKeys(t keyText, s sharedKeys) SettingsKeys {
	return SettingsKeys{
		Up:     s.up,
		Down:   s.down,
		Change: t.as("enter", "key.change", "enter", "space"),
		Next:   t.as("←/→", "key.next", "right", "l"),
		Prev:   t.as("←", "key.prev", "left", "h"),
		Save:   t.b("key.save", "enter"),
		Back:   s.back,
		Help:   s.Help,
		Quit:   s.Quit,
	}
}

// settingsModel is the settings screen. It owns only the cursor and the
// text being edited; the values are the root's (vals), and changes go to
// the root as setMsg.
type settingsModel struct {
	st   *Styles
	keys *SettingsKeys
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

func (s settingsModel) set(f settingField, v string) tea.Cmd {
	return func() tea.Msg { return setMsg{field: f, value: v} }
}

// Update handles the sound devices found, and keys: a text field's while
// one is edited, else the list's.
func (s settingsModel) Update(msg tea.Msg) (settingsModel, tea.Cmd) {
	var k tea.KeyPressMsg
	switch msg := msg.(type) {
	case devicesMsg:
		s.loaded = true
		s.devices, s.devicesErr = msg.list, ""
		if msg.err != nil {
			s.devicesErr = errorText(msg.err)
		}
		return s, nil
	case tea.KeyPressMsg:
		k = msg
	default:
		return s, nil
	}
	if s.editing {
		return s.editKey(k)
	}
	f := s.field()
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

// editKey is a key in a text field: enter sets it, esc leaves it as it
// was, the rest edits the text.
func (s settingsModel) editKey(k tea.KeyPressMsg) (settingsModel, tea.Cmd) {
	switch k.String() {
	case "enter":
		s.editing = false
		return s, s.set(s.field(), strings.TrimSpace(string(s.buf)))
	case "esc":
		s.editing, s.buf = false, nil
	default:
		s.buf = editLine(s.buf, k, true)
	}
	return s, nil
}

// change toggles a toggle, cycles a choice by step, or starts editing a
// text field.
func (s *settingsModel) change(f settingField, step int) tea.Cmd {
	r := f.row()
	switch r.kind {
	case kindToggle:
		return s.set(f, onOff(r.get(s.vals) != "on"))
	case kindChoice:
		c := r.choices(s, r)
		i := slices.Index(c, r.get(s.vals))
		return s.set(f, c[(i+step+len(c))%len(c)])
	}
	if step < 0 {
		return nil
	}
	s.editing = true
	s.buf = []rune(r.get(s.vals))
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
	r := f.row()
	v := r.get(s.vals)
	if r.show != nil {
		v = r.show(s.cat, v)
	}
	return v
}

// note is the dim remark after a field's value.
func (s settingsModel) note(f settingField) string {
	r := f.row()
	if r.note == nil {
		return ""
	}
	if n := r.note(&s); n != "" {
		return s.cat.T(n)
	}
	return ""
}

func (s settingsModel) View() string {
	st, t := s.st, s.cat.T
	lines := []string{st.Section.Render(t("set.title")) + st.Dim.Render("  "+t("set.session")), ""}
	for f := range numFields {
		lines = append(lines, s.rowView(f))
		if f.row().gap {
			lines = append(lines, "")
		}
	}
	lines = append(lines, "")
	lines = append(lines, s.devicesView()...)
	return strings.Join(lines, "\n")
}

// rowView is one row: label, value (or the text being edited) and note.
func (s settingsModel) rowView(f settingField) string {
	st := s.st
	const labelW = 18
	val := s.display(f)
	if s.editing && f == s.field() {
		val = st.Header.Render(string(s.buf) + "█")
	}
	line := pad(s.cat.T(f.label()), labelW) + " " + val
	if n := s.note(f); n != "" {
		line += "  " + st.Dim.Render(n)
	}
	if int(f) == s.cursor {
		return st.Selected.Render("> ") + ansiTruncate(line, max(1, s.width-2))
	}
	return "  " + ansiTruncate(line, max(1, s.width-2))
}

// devicesView lists the sound devices found (or why there are none yet).
func (s settingsModel) devicesView() []string {
	st, t := s.st, s.cat.T
	w := max(1, s.width)
	switch {
	case s.devicesErr != "":
		return []string{st.Dim.Render(truncate(t("set.devices.err", s.devicesErr), w))}
	case !s.loaded:
		return []string{st.Dim.Render(t("set.devices.loading"))}
	}
	var lines []string
	for _, capture := range []bool{true, false} {
		var names []string
		for _, d := range s.devices {
			if d.Capture == capture {
				names = append(names, d.Name)
			}
		}
		k := map[bool]string{true: "set.devices.in", false: "set.devices.out"}[capture]
		lines = append(lines, st.Dim.Render(truncate(t(k, strings.Join(names, ", ")), w)))
	}
	return lines
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

// onSettings handles a change asked on the settings screen and the
// results of applying one; each success is saved (persist).
func (m *Model) onSettings(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case devicesMsg:
		m.settings, _ = m.settings.Update(msg)
		return nil, true
	case setMsg:
		return m.applySetting(msg.field, msg.value), true
	case audioDevicesMsg:
		return m.devicesDone(msg), true
	case bellMsg:
		return m.bellDone(msg), true
	case selfInfoMsg:
		return m.selfInfoDone(msg), true
	case aiVoiceMsg: // --- kit: audio ---
		return m.aiVoiceDone(msg), true
	}
	return nil, false
}

// devicesDone: the sound devices were switched, or could not be (the old
// ones stay).
func (m *Model) devicesDone(msg audioDevicesMsg) tea.Cmd {
	if msg.err != nil {
		m.set.Devices = msg.prev
		m.setError(msg.err)
		return nil
	}
	m.noMic = !msg.sending
	m.setStatus(m.cat.T("st.set.devices", m.deviceSummary(msg.devs)))
	return m.persist(SetMic)
}

// bellDone: the ringtone was set, or the file could not be used.
func (m *Model) bellDone(msg bellMsg) tea.Cmd {
	if msg.err != nil {
		m.setError(fmt.Errorf("%s: %w", m.cat.T("set.ringtone"), msg.err))
		return nil
	}
	m.set.Ringtone = msg.path
	if msg.path == "" {
		m.setStatus(m.cat.T("st.set.ringtone.default"))
	} else {
		m.setStatus(m.cat.T("st.set.ringtone", msg.path))
	}
	return m.persist(SetRingtone)
}

// selfInfoDone: SetSelfInfo took the profile, or refused it.
func (m *Model) selfInfoDone(msg selfInfoMsg) tea.Cmd {
	if msg.err != nil {
		m.setError(msg.err)
		return nil
	}
	m.set.Nickname, m.set.Avatar = msg.nickname, msg.avatar
	m.setStatus(m.cat.T("st.set.profile"))
	return m.persist(SetNickname)
}

// applySetting applies one change made on the settings screen.
func (m *Model) applySetting(f settingField, v string) tea.Cmd {
	r := f.row()
	return r.apply(m, r, v)
}

func (m *Model) applyMic(r settingRow, v string) tea.Cmd {
	return m.applyDevice(r, func(d *AudioDevices) { d.Mic = v })
}

func (m *Model) applySpeaker(r settingRow, v string) tea.Cmd {
	return m.applyDevice(r, func(d *AudioDevices) { d.Speaker = v })
}

func (m *Model) applyEarpiece(r settingRow, v string) tea.Cmd {
	return m.applyDevice(r, func(d *AudioDevices) { d.Earpiece = v })
}

// applyDevice changes one sound device: at once, when the call in progress
// ends, or only in the settings when nothing applies them.
func (m *Model) applyDevice(r settingRow, change func(*AudioDevices)) tea.Cmd {
	t := m.cat.T
	prev := m.set.Devices
	d := prev
	change(&d)
	if d == prev {
		return nil
	}
	m.set.Devices = d
	switch {
	case m.opts.Audio == nil:
		m.setStatus(t("st.set.devices.norestart", m.deviceSummary(d)))
		return m.persist(r.key)
	case m.call != nil:
		if m.pendingDevs == nil {
			m.pendingDevs = &prev
		}
		m.settings.pending = true
		m.setStatus(t("st.set.devices.next", m.deviceSummary(d)))
		return m.persist(r.key)
	}
	return m.applyDevices(d, prev)
}

func (m *Model) applyCamera(r settingRow, v string) tea.Cmd {
	if v == "" {
		v = "pattern:"
	}
	m.set.Camera = v
	m.setStatus(m.cat.T("st.set.camera", v))
	return m.persist(r.key)
}

// applyRingtone sets the ringtone file; the result comes back as bellMsg.
func (m *Model) applyRingtone(r settingRow, v string) tea.Cmd {
	if m.opts.Audio == nil {
		m.set.Ringtone = v
		return m.persist(r.key)
	}
	a := m.opts.Audio
	return func() tea.Msg { return bellMsg{path: v, err: a.SetCallingBell(v)} }
}

func (m *Model) applyMuteMode(r settingRow, v string) tea.Cmd {
	on := v == "on"
	m.set.MuteMode = on
	if m.opts.Audio != nil {
		m.opts.Audio.EnableMuteMode(on)
	}
	if on && m.call != nil && m.call.phase == phaseIncoming {
		m.stopRinging()
	}
	return m.toggled(r, v)
}

func (m *Model) applyBanner(r settingRow, v string) tea.Cmd {
	m.set.IncomingBanner = v == "on"
	return m.toggled(r, v)
}

func (m *Model) applyFloat(r settingRow, v string) tea.Cmd {
	on := v == "on"
	m.set.FloatWindow = on
	if m.call != nil {
		m.call.floatWindow = on
		if !on {
			m.call.compact = false
		}
	}
	return m.toggled(r, v)
}

// toggled says that a toggle row is now v and saves it.
func (m *Model) toggled(r settingRow, v string) tea.Cmd {
	t := m.cat.T
	m.setStatus(t("st.set.toggle", t(r.label), t("set."+v)))
	return m.persist(r.key)
}

func (m *Model) applyLang(r settingRow, v string) tea.Cmd {
	m.setLang(v)
	m.setStatus(m.cat.T("st.set.lang", m.cat.T("lang."+m.cat.Lang())))
	return m.persist(r.key)
}

// applyNickname and applyAvatar set the profile (SetSelfInfo); the result
// comes back as selfInfoMsg.
func (m *Model) applyNickname(_ settingRow, v string) tea.Cmd { return m.act.selfInfo(v, m.set.Avatar) }
func (m *Model) applyAvatar(_ settingRow, v string) tea.Cmd   { return m.act.selfInfo(m.set.Nickname, v) }

func (m *Model) applyAIVoice(_ settingRow, v string) tea.Cmd { return m.setAIVoice(v == "on") } // --- kit: audio ---

// applyBeauty sets the beauty level through the engine (when it has one).
func (m *Model) applyBeauty(r settingRow, v string) tea.Cmd {
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
	m.setStatus(m.cat.T("st.set.beauty", v))
	return m.persist(r.key)
}

// --- seg: background blur ---

// blurLevels are the background blur row's levels (the reference's
// setBlurBackground: 0 off, 1 low, 2 medium, 3 high).
var blurLevels = []string{"0", "1", "2", "3"}

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

// applyBlur applies the blur row's level through the engine; the model
// loads on the first use (tens of ms), so it runs here, not in a command.
func (m *Model) applyBlur(r settingRow, v string) tea.Cmd {
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
	return m.persist(r.key)
}

// backgrounder is the engine's virtual background (*engine.Engine has it).
type backgrounder interface {
	SetVirtualBackground(path string) error
	VirtualBackground() string
}

// backgroundOf is the engine's background picture ("" without one).
func backgroundOf(e Engine) string {
	if b, ok := e.(backgrounder); ok {
		return b.VirtualBackground()
	}
	return ""
}

// applyBackground sets the background picture through the engine ("" turns
// it off); a file the engine refuses keeps the old picture and shows why.
func (m *Model) applyBackground(r settingRow, v string) tea.Cmd {
	if b, ok := m.opts.Engine.(backgrounder); ok {
		if err := b.SetVirtualBackground(v); err != nil {
			m.setError(err)
			return nil
		}
	}
	m.set.Background = v
	shown := v
	if shown == "" {
		shown = m.cat.T("set.unset")
	}
	m.setStatus(m.cat.T("st.set.background", shown))
	return m.persist(r.key)
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
	return m.persist(SetAIVoice)
}

// beautySetter is the engine's SetBeautyLevel (*engine.Engine has it).
type beautySetter interface {
	SetBeautyLevel(level float64) error
}

// persist hands the settings to Options.SaveSettings after the setting key
// (Set*) changed; a failure shows in the status line and keeps the change
// for the session.
func (m *Model) persist(key string) tea.Cmd {
	save := m.opts.SaveSettings
	if save == nil {
		return nil
	}
	s, k := m.set, key
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
