// Package tui is termcall's terminal user interface: the TUICallKit layer
// of the call model on a bubbletea v2 program (docs/tui.md).
//
// Model is the root. It owns one sub-model per screen: homeModel
// (home.go), historyModel (history.go), settingsModel (settings.go, whose
// rows are one table, settingRows) and, while there is a call, callModel
// (call.go: the outgoing, incoming and in-call screens, the incoming banner
// and the compact line). Each screen has its own Update, View and Help and
// its own part of the KeyMap (HomeKeys, HistoryKeys, SettingsKeys,
// CallKeys). The root's Update handles only what is global (the window,
// the background, the engine's events) and hands every other message to
// the handler of its kind: onSession (session.go: login, connection),
// onNavigate, onCall (callflow.go: placing, joining, the call's events and
// results), onRecords, onSettings and onStatus. Keys go to the global keys,
// then to the call or the screen under it (Model.key). Screens ask the root
// for what they cannot do themselves with intent messages (dialMsg,
// setMsg, ...). What a screen shows is decided from typed state (phase,
// peerState, connState, statusKind), never from text it shows.
//
// Engine events arrive as
// messages through a command that waits on Options.Events and is issued
// again after each event; engine calls run as commands whose results come
// back as messages. Nothing here blocks the UI goroutine, and the only
// timer is the 1 s call clock, which runs only while a call is connected.
package tui

import (
	"context"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/termcall/termcall/engine"
)

// Options configure the TUI.
type Options struct {
	// Engine is the logged-in user's engine (required).
	Engine Engine
	// Events are the engine's events, fed by an Observer (required for a
	// live UI; nil in tests that send events themselves).
	Events <-chan engine.Event
	// User is the user ID this UI logs in as.
	User string
	// Login logs in (Engine.Init); the UI calls it at start and again when
	// the user presses i after being kicked offline or when the userSig
	// expired. Nil: already logged in.
	Login func(ctx context.Context) error
	// CanRenewSig says that Login signs a fresh userSig (--secret), so that
	// an expired userSig can be renewed from the UI.
	CanRenewSig bool
	// Contacts are dial strings offered on the home screen ("alice",
	// "group:G alice bob").
	Contacts []string
	// DefaultGroup is the group a call to several users is placed in when
	// the dial string names none.
	DefaultGroup string
	// Lang is en, zh-cn or ja_JP (or a LANG-style locale).
	Lang string
	// IncomingBanner shows incoming calls as a one-line banner first
	// (enableIncomingBanner); default full screen.
	IncomingBanner bool
	// FloatWindow allows the compact one-line call view (enableFloatWindow).
	FloatWindow bool
	// MuteMode rings without the bell or the ringtone (enableMuteMode).
	MuteMode bool
	// Ringer plays the ringtone; nil rings the terminal bell only.
	Ringer Ringer
	// Ringback plays the ringback tone while this user's call rings; nil:
	// none.
	Ringback Ringbacker
	// Video draws the others' video in a video call; nil: no video.
	Video VideoView
	// Notify shows a desktop notification (title, body) for an incoming
	// call; nil: none. It must not block. What it returns (a terminal
	// notification escape, or "") is written through the UI's renderer.
	Notify func(title, body string) string
	// Audio applies the sound settings (ringtone, mute mode, devices); nil:
	// the settings screen only shows them.
	Audio AudioControl
	// Devices lists the sound devices for the settings screen; nil: none.
	Devices func() ([]DeviceInfo, error)
	// AudioDevices are the sound devices in use at start.
	AudioDevices AudioDevices
	// Camera is the video source shown in the settings (default
	// "pattern:"); it is not used until video lands.
	Camera string
	// Ringtone is the ringtone file in use at start ("" = the built-in one).
	Ringtone string
	// Nickname and Avatar are this user's profile as far as known
	// (SetSelfInfo from the settings changes them).
	Nickname, Avatar string
	// NoMicrophone says that nothing is sent (no audio device and nothing
	// to play instead): the own tile says "no audio device".
	NoMicrophone bool
	// Notice is shown in the status line at start (e.g. that there is no
	// sound card).
	Notice string
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Location formats record times; default time.Local.
	Location *time.Location
	// RequestTimeout bounds each engine call; default 10 s.
	RequestTimeout time.Duration
	// IsLight picks the styles for a light background until the terminal
	// reports its background color; dark by default.
	IsLight bool

	// --- kit: settings that persist, beauty ---
	// SaveSettings, if set, is called (inside a command) after each change
	// made on the settings screen has taken effect, with the setting's key
	// (SetMic, ...) and all settings; an error shows in the status line.
	SaveSettings func(key string, s Settings) error
	// Beauty is the beauty level in use at start (0..9).
	Beauty float64
}

// screen is the screen under any call.
type screen int

const (
	screenHome screen = iota
	screenHistory
	screenSettings
)

// connState is the connection as the UI shows it.
type connState int

const (
	connConnecting connState = iota
	connOnline
	connReconnecting
	connOffline
	connKicked
)

// Model is the root model of the TUI.
type Model struct {
	opts   Options
	act    actions
	cat    *Catalog
	keys   KeyMap
	styles *Styles
	help   help.Model
	now    func() time.Time
	// tick makes the call clock's command; tests replace it.
	tick func(callID string) tea.Cmd
	// retryAfter makes the command that logs in again after d (a first
	// login that found no server); tests replace it.
	retryAfter func(d time.Duration) tea.Cmd
	loginTries int // failed logins in a row that are retried

	width, height int
	conn          connState
	sigExpired    bool
	status        string
	statusErr     bool
	statusKind    statusKind
	screen        screen
	home          homeModel
	history       historyModel
	settings      settingsModel
	set           Settings
	pendingDevs   *AudioDevices // device changes made during a call
	micMuted      bool          // the engine's microphone is closed (it stays so across calls)
	noMic         bool          // nothing is sent
	ringback      bool          // the ringback tone plays
	call          *callModel
	records       []engine.CallRecord
	quitting      bool
}

// New builds the root model.
func New(opts Options) *Model {
	opts = opts.withDefaults()
	cat := NewCatalog(opts.Lang)
	st := NewStyles(!opts.IsLight)
	m := &Model{
		opts:   opts,
		act:    actions{eng: opts.Engine, timeout: opts.RequestTimeout},
		cat:    cat,
		keys:   DefaultKeyMap(cat),
		styles: &st,
		help:   help.New(),
		now:    opts.Now,
		width:  80,
		height: 24,
		status: opts.Notice,
		set:    opts.settings(cat),
		noMic:  opts.NoMicrophone,
	}
	m.help.Styles = st.Help
	m.tick = m.clockTick
	m.retryAfter = func(d time.Duration) tea.Cmd {
		return tea.Tick(d, func(time.Time) tea.Msg { return retryLoginMsg{} })
	}
	m.home = newHome(m.styles, &m.keys.Home, cat, opts.User, opts.Contacts)
	m.history = newHistory(m.styles, &m.keys.History, cat, opts.User, opts.Location)
	m.settings = settingsModel{st: m.styles, keys: &m.keys.Settings, cat: cat, vals: &m.set, noAudioCtl: opts.Audio == nil}
	if opts.Login == nil {
		m.conn = connOnline
	}
	m.resize()
	return m
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 10 * time.Second
	}
	return o
}

// settings are the settings at start.
func (o Options) settings(cat *Catalog) Settings {
	camera := o.Camera
	if camera == "" {
		camera = "pattern:"
	}
	s := Settings{Devices: o.AudioDevices, Camera: camera, Ringtone: o.Ringtone, MuteMode: o.MuteMode,
		IncomingBanner: o.IncomingBanner, FloatWindow: o.FloatWindow, Lang: cat.Lang(),
		Nickname: o.Nickname, Avatar: o.Avatar, Beauty: o.Beauty}
	s.AIVoice = aiVoiceOf(o.Engine) // --- kit: audio ---
	s.Blur = blurOf(o.Engine)       // --- seg ---
	s.Background = backgroundOf(o.Engine)
	return s
}

// clockTick is the call clock's next tick: every second, or at the video's
// refresh rate while a video call shows video (the timer rides along).
func (m *Model) clockTick(id string) tea.Cmd {
	every := time.Second
	if m.call != nil && m.call.showsVideo() {
		every = 100 * time.Millisecond
	}
	return tea.Tick(every, func(time.Time) tea.Msg { return tickMsg{callID: id} })
}

// Init logs in (when Options.Login is set), starts listening to the engine
// and loads the call records.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{waitEvent(m.opts.Events), tea.RequestBackgroundColor}
	if m.opts.Login != nil {
		cmds = append(cmds, m.login())
		if m.status == "" {
			m.say(statusLoggingIn, m.cat.T("st.loggingin", m.opts.User))
		}
	} else {
		cmds = append(cmds, m.act.records())
	}
	return tea.Batch(cmds...)
}

// statusKind is what the status line says, as far as a later message
// needs to know (whether the line still shows what an action put there):
// decided from this value, never by comparing the translated text.
type statusKind int

const (
	statusPlain     statusKind = iota
	statusLoggingIn            // "logging in as …" (st.loggingin)
	statusPlacing              // "calling …" while Call runs (st.placing)
	statusJoining              // "joining …" while Join runs (st.joining)
)

func (m *Model) setStatus(s string) { m.say(statusPlain, s) }
func (m *Model) setError(err error) { m.setStatusErr(errorText(err)) }

// setStatusErr shows s as an error (a warning the user must act on).
func (m *Model) setStatusErr(s string) {
	m.say(statusPlain, s)
	m.statusErr = true
}

// say shows s in the status line as a kind of message.
func (m *Model) say(kind statusKind, s string) {
	m.status, m.statusErr, m.statusKind = s, false, kind
}

// Update handles one message: the window and the keys, engine events, and
// the results of commands, each kind in its own handler; keys go to the
// active screen (key).
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.resize()
		return m, nil
	case tea.BackgroundColorMsg:
		st := NewStyles(msg.IsDark())
		*m.styles = st
		m.help.Styles = st.Help
		return m, nil
	case tea.KeyPressMsg:
		return m, m.key(msg)
	case eventMsg:
		return m, tea.Batch(m.event(msg.ev), waitEvent(m.opts.Events))
	}
	for _, handle := range []func(tea.Msg) (tea.Cmd, bool){m.onSession, m.onNavigate, m.onCall, m.onRecords, m.onSettings, m.onStatus} {
		if cmd, ok := handle(msg); ok {
			return m, cmd
		}
	}
	return m, nil
}

// onNavigate opens a screen, or dials, as a screen asked.
func (m *Model) onNavigate(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case dialMsg:
		return m.dial(msg.text), true
	case historyMsg:
		m.screen = screenHistory
		m.setStatus("") // a new screen starts with a clear status line
		return m.act.records(), true
	case settingsMsg:
		m.screen = screenSettings
		m.setStatus("")
		return m.loadDevices(), true
	case homeMsg:
		m.screen = screenHome
		m.setStatus("")
		return nil, true
	}
	return nil, false
}

// onStatus shows what an action says.
func (m *Model) onStatus(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case doneMsg:
		if msg.err != nil {
			m.setError(msg.err)
		} else if msg.ok != "" {
			m.setStatus(msg.ok)
		}
	case statusMsg:
		m.setStatus(msg.text)
	case errStatusMsg:
		m.setError(msg.err)
	default:
		return nil, false
	}
	return nil, true
}

// typing says whether a text box has the keys.
func (m *Model) typing() bool {
	if m.call != nil && m.call.Typing() {
		return true
	}
	return (m.call == nil || m.call.Overlay()) && m.screenTyping()
}

// screenTyping says whether the screen under any call has a text box with
// the keys.
func (m *Model) screenTyping() bool {
	return (m.screen == screenHome && m.home.Typing()) || (m.screen == screenSettings && m.settings.Typing())
}

// key routes a key press: ctrl+c and the global keys first, then the call
// (its full screen, or the keys of an overlaid banner or compact line),
// then q, then the screen under the call.
func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if k.String() == "ctrl+c" {
		return m.quit()
	}
	if !m.typing() {
		if cmd, ok := m.globalKey(k); ok {
			return cmd
		}
	}
	if m.callTakes(k) {
		return m.call.Update(k)
	}
	if m.call != nil && !m.call.Overlay() {
		return nil
	}
	if !m.typing() && key.Matches(k, m.keys.Global.Quit) {
		return m.quit()
	}
	return m.screenKey(k)
}

func (m *Model) quit() tea.Cmd {
	m.quitting = true
	return tea.Quit
}

// globalKey handles the keys of every screen: help, and log in again.
func (m *Model) globalKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	switch {
	case key.Matches(k, m.keys.Global.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.resize()
		return nil, true
	case key.Matches(k, m.keys.Global.Relogin) && m.canRelogin() && (m.call == nil || m.call.phase != phaseIncoming):
		m.say(statusLoggingIn, m.cat.T("st.loggingin", m.opts.User))
		return m.login(), true
	}
	return nil, false
}

// callTakes says whether the call gets a key: a full-screen call gets
// them all, an overlaid one (banner, compact line) its own unless the
// screen below has a text box.
func (m *Model) callTakes(k tea.KeyPressMsg) bool {
	if m.call == nil {
		return false
	}
	return m.call.Typing() || !m.call.Overlay() || (!m.screenTyping() && m.call.Handles(k))
}

// screenKey hands a key to the screen under any call.
func (m *Model) screenKey(k tea.KeyPressMsg) tea.Cmd {
	var cmd tea.Cmd
	switch m.screen {
	case screenHome:
		m.home, cmd = m.home.Update(k)
	case screenHistory:
		m.history, cmd = m.history.Update(k)
	case screenSettings:
		m.settings, cmd = m.settings.Update(k)
	}
	return cmd
}

// bodyHeight is the height between the header and the status line.
func (m *Model) bodyHeight() int {
	h := m.height - 2 /* header + rule */ - 1 /* status */ - lipgloss.Height(m.helpView())
	if m.call != nil && m.call.Overlay() {
		h--
	}
	if m.hint() != "" {
		h--
	}
	return max(0, h)
}

func (m *Model) resize() {
	m.help.SetWidth(m.width)
	bh := max(1, m.bodyHeight())
	m.home.SetSize(m.width, bh)
	m.history.SetSize(m.width, bh)
	m.settings.SetSize(m.width, bh)
	if m.call != nil {
		m.call.SetSize(m.width, bh)
	}
}

func (m *Model) helpView() string {
	var b bindings
	switch {
	case m.call != nil && !m.call.Overlay():
		b = m.call.Help()
	case m.call != nil && !m.typing():
		// The overlay's keys first, then the screen's.
		b = m.call.Help()
		sb := m.screenHelp()
		b.short = append(b.short, sb.short...)
		b.full = append(b.full, sb.full...)
	default:
		b = m.screenHelp()
	}
	return m.help.View(b)
}

func (m *Model) screenHelp() bindings {
	if m.screen == screenHistory {
		return m.history.Help()
	}
	if m.screen == screenSettings {
		return m.settings.Help()
	}
	b := m.home.Help()
	if m.canRelogin() && !m.home.Typing() {
		b.short = append([]key.Binding{m.keys.Global.Relogin}, b.short...)
	}
	return b
}

// View draws the whole screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.WindowTitle = "termcall · " + m.opts.User
	return v
}

// Render draws the screen as a string (View's content): the header, a
// hint about the connection, the call's banner or compact line, the body,
// the status line and the help.
func (m *Model) Render() string {
	if m.quitting {
		return ""
	}
	m.resize()
	st := m.styles
	title := st.Title.Render(m.cat.T("app")) + st.Dim.Render(" · ") + st.Header.Render(m.opts.User)
	conn := m.connText()
	gap := max(1, m.width-lipgloss.Width(title)-lipgloss.Width(conn))
	out := []string{title + strings.Repeat(" ", gap) + conn, st.Dim.Render(strings.Repeat("─", max(1, m.width)))}
	if h := m.hint(); h != "" {
		out = append(out, st.Warn.Render(truncate(h, m.width)))
	}
	if line := m.overlayView(); line != "" {
		out = append(out, line)
	}
	if bh := m.bodyHeight(); bh > 0 {
		out = append(out, fit(m.bodyView(), m.width, bh))
	}
	status := st.Status
	if m.statusErr {
		status = st.StatusErr
	}
	out = append(out, status.Render(truncate(m.status, m.width)), m.helpView())
	return strings.Join(out, "\n")
}

// overlayView is the line an overlaid call draws above the screen (the
// incoming banner, the compact line), or "".
func (m *Model) overlayView() string {
	switch {
	case m.call == nil || !m.call.Overlay():
		return ""
	case m.call.phase == phaseIncoming:
		return m.call.BannerView()
	}
	return m.call.CompactView(m.now())
}

// bodyView is the call's full screen, or the screen under any call.
func (m *Model) bodyView() string {
	switch {
	case m.call != nil && !m.call.Overlay():
		return m.call.View(m.now())
	case m.screen == screenHistory:
		return m.history.View()
	case m.screen == screenSettings:
		return m.settings.View()
	}
	return m.home.View()
}

// fit pads or cuts s to exactly h lines, each cut to w cells.
func fit(s string, w, h int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for i, l := range lines {
		if lipgloss.Width(l) > w {
			lines[i] = ansiTruncate(l, w)
		}
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return strings.Join(lines, "\n")
}
