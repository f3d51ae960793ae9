// Package tui is termcall's terminal user interface: the TUICallKit layer
// of spec/CALL-MODEL.md §2 on a bubbletea v2 program.
//
// Model is the root; it owns one sub-model per screen (home, history, and
// the current call, which draws the outgoing, incoming and in-call screens,
// the incoming banner and the compact line). Engine events arrive as
// messages through a command that waits on Options.Events and is issued
// again after each event; engine calls run as commands whose results come
// back as messages. Nothing here blocks the UI goroutine, and the only
// timer is the 1 s call clock, which runs only while a call is connected.
package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
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
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 10 * time.Second
	}
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
	}
	m.help.Styles = st.Help
	m.tick = func(id string) tea.Cmd {
		every := time.Second
		if m.call != nil && m.call.showsVideo() {
			every = 100 * time.Millisecond // the video's refresh; the timer rides along
		}
		return tea.Tick(every, func(time.Time) tea.Msg { return tickMsg{callID: id} })
	}
	m.retryAfter = func(d time.Duration) tea.Cmd {
		return tea.Tick(d, func(time.Time) tea.Msg { return retryLoginMsg{} })
	}
	m.home = newHome(m.styles, &m.keys, cat, opts.Contacts)
	m.history = newHistory(m.styles, &m.keys, cat, opts.User, opts.Location)
	camera := opts.Camera
	if camera == "" {
		camera = "pattern:"
	}
	m.set = Settings{Devices: opts.AudioDevices, Camera: camera, Ringtone: opts.Ringtone, MuteMode: opts.MuteMode,
		IncomingBanner: opts.IncomingBanner, FloatWindow: opts.FloatWindow, Lang: cat.Lang(),
		Nickname: opts.Nickname, Avatar: opts.Avatar, Beauty: opts.Beauty}
	m.set.AIVoice = aiVoiceOf(opts.Engine) // --- kit: audio ---
	m.noMic = opts.NoMicrophone
	m.settings = settingsModel{st: m.styles, keys: &m.keys, cat: cat, vals: &m.set, noAudioCtl: opts.Audio == nil}
	if opts.Login == nil {
		m.conn = connOnline
	}
	m.resize()
	return m
}

// Init logs in (when Options.Login is set), starts listening to the engine
// and loads the call records.
func (m *Model) Init() tea.Cmd {
	cmds := []tea.Cmd{waitEvent(m.opts.Events), tea.RequestBackgroundColor}
	if m.opts.Login != nil {
		cmds = append(cmds, m.login())
		if m.status == "" {
			m.status = m.cat.T("st.loggingin", m.opts.User)
		}
	} else {
		cmds = append(cmds, m.act.records())
	}
	return tea.Batch(cmds...)
}

func (m *Model) login() tea.Cmd {
	m.conn = connConnecting
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), m.opts.RequestTimeout)
		defer cancel()
		return loginMsg{err: m.opts.Login(ctx)}
	}
}

func (m *Model) setStatus(s string) { m.status, m.statusErr = s, false }
func (m *Model) setError(err error) { m.status, m.statusErr = errorText(err), true }

// Update handles one message.
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
		cmd := m.event(msg.ev)
		return m, tea.Batch(cmd, waitEvent(m.opts.Events))
	case eventsClosedMsg:
		m.conn = connOffline
		m.setStatus(m.cat.T("st.eventsclosed"))
		return m, nil
	case loginMsg:
		if msg.err != nil {
			m.conn = connOffline
			m.setError(msg.err)
			if loginRetryable(msg.err) {
				// The server is not up (yet), or not ready: try again by
				// itself, backing off, as the bot does; i still logs in now.
				d := min(time.Second<<min(m.loginTries, 4), 10*time.Second)
				m.loginTries++
				m.setStatus(m.cat.T("st.login.retry", errorText(msg.err), int(d/time.Second), m.keys.Relogin.Help().Key))
				m.statusErr = true
				return m, m.retryAfter(d)
			}
			return m, nil
		}
		m.loginTries = 0
		m.conn = connOnline
		m.sigExpired = false
		if m.status == m.cat.T("st.loggingin", m.opts.User) || m.status == "" {
			m.setStatus(m.cat.T("st.loggedin", m.opts.User))
		}
		return m, m.act.records()
	case retryLoginMsg:
		if m.conn == connOffline && m.opts.Login != nil {
			return m, m.login()
		}
		return m, nil
	case tickMsg:
		if m.call != nil && m.call.id == msg.callID && m.call.phase == phaseActive {
			return m, m.tick(msg.callID)
		}
		return m, nil
	case placedMsg:
		if m.call == nil || m.call.phase != phaseOutgoing {
			return m, nil
		}
		if msg.err != nil {
			dialed, typing := m.call.dialed, m.call.dialedTyping
			cmd := m.endCall()
			m.setError(msg.err)
			if m.home.dial == nil && !m.home.typing {
				// A failed dial keeps what was typed, and the focus, to fix it.
				m.home.dial, m.home.typing = dialed, typing
			}
			return m, cmd
		}
		if m.call.id == "" {
			m.call.id = msg.info.CallID
		}
		if m.status == m.cat.T("st.placing", m.call.target) {
			m.setStatus(m.cat.T("st.placed", m.call.target))
		}
		if m.call.joining && m.status == m.cat.T("st.joining", m.call.target) {
			m.setStatus(m.cat.T("st.joined", m.call.target))
		}
		if m.call.joining && m.call.group == "" {
			m.call.group = msg.info.GroupID
		}
		for _, p := range msg.info.Participants {
			if p.UserID != m.opts.User {
				pr := m.call.peer(p.UserID)
				if m.call.joining && p.Status == engine.StatusAccept {
					pr.state = peerJoined
				}
			}
		}
		return m, nil
	case aiVoiceMsg: // --- kit: audio ---
		return m, m.aiVoiceDone(msg)
	case doneMsg:
		if msg.err != nil {
			m.setError(msg.err)
		} else if msg.ok != "" {
			m.setStatus(msg.ok)
		}
		return m, nil
	case externalMsg: // --- kit: control ---
		m.syncFromEngine(msg.what)
		return m, nil
	case micMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		m.micMuted = msg.muted
		if m.call != nil {
			m.call.muted = msg.muted
		}
		m.setStatus(m.cat.T(map[bool]string{true: "st.muted", false: "st.unmuted"}[msg.muted]))
		return m, nil
	case routeMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		if m.call != nil {
			m.call.route = msg.device
		}
		m.setStatus(m.cat.T("st.route", m.routeName(msg.device)))
		return m, nil
	case invitedMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		m.setStatus(m.cat.T("st.invited", strings.Join(msg.ids, ", ")))
		return m, nil
	case recordsMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		m.records = msg.records
		m.history.setRecords(msg.records)
		m.home.setRecent(m.opts.User, msg.records)
		return m, nil
	case deletedMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		m.setStatus(m.cat.T("st.deleted", len(msg.ids)))
		return m, m.act.records()
	case dialMsg:
		return m, m.dial(msg.text)
	case historyMsg:
		m.screen = screenHistory
		m.setStatus("") // a new screen starts with a clear status line
		return m, m.act.records()
	case settingsMsg:
		m.screen = screenSettings
		m.setStatus("")
		return m, m.loadDevices()
	case devicesMsg:
		m.settings.loaded = true
		m.settings.devices, m.settings.devicesErr = msg.list, ""
		if msg.err != nil {
			m.settings.devicesErr = errorText(msg.err)
		}
		return m, nil
	case setMsg:
		return m, m.applySetting(msg.field, msg.value)
	case audioDevicesMsg:
		if msg.err != nil {
			m.set.Devices = msg.prev
			m.setError(msg.err)
			return m, nil
		}
		m.noMic = !msg.sending
		m.setStatus(m.cat.T("st.set.devices", m.deviceSummary(msg.devs)))
		return m, m.persist(fieldMic)
	case bellMsg:
		if msg.err != nil {
			m.setError(fmt.Errorf("%s: %w", m.cat.T("set.ringtone"), msg.err))
			return m, nil
		}
		m.set.Ringtone = msg.path
		if msg.path == "" {
			m.setStatus(m.cat.T("st.set.ringtone.default"))
		} else {
			m.setStatus(m.cat.T("st.set.ringtone", msg.path))
		}
		return m, m.persist(fieldRingtone)
	case selfInfoMsg:
		if msg.err != nil {
			m.setError(msg.err)
			return m, nil
		}
		m.set.Nickname, m.set.Avatar = msg.nickname, msg.avatar
		m.setStatus(m.cat.T("st.set.profile"))
		return m, m.persist(fieldNickname)
	case homeMsg:
		m.screen = screenHome
		m.setStatus("")
		return m, nil
	case refreshMsg:
		return m, m.act.records()
	case deleteMsg:
		return m, m.act.deleteRecords(msg.ids)
	case statusMsg:
		m.setStatus(msg.text)
		return m, nil
	case errStatusMsg:
		m.setError(msg.err)
		return m, nil
	}
	return m, nil
}

func (m *Model) routeName(d engine.AudioPlaybackDevice) string {
	if d == engine.AudioPlaybackEarpiece {
		return m.cat.T("earpiece")
	}
	return m.cat.T("speaker")
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

func (m *Model) key(k tea.KeyPressMsg) tea.Cmd {
	if k.String() == "ctrl+c" {
		m.quitting = true
		return tea.Quit
	}
	if !m.typing() {
		switch {
		case key.Matches(k, m.keys.Help):
			m.help.ShowAll = !m.help.ShowAll
			m.resize()
			return nil
		case key.Matches(k, m.keys.Relogin) && m.canRelogin() && (m.call == nil || m.call.phase != phaseIncoming):
			m.setStatus(m.cat.T("st.loggingin", m.opts.User))
			return m.login()
		}
	}
	homeTyping := m.screenTyping()
	if m.call != nil && (m.call.Typing() || !m.call.Overlay() || (!homeTyping && m.call.Handles(k))) {
		return m.call.Update(k)
	}
	if m.call != nil && !m.call.Overlay() {
		return nil
	}
	if !m.typing() && k.String() == "q" {
		m.quitting = true
		return tea.Quit
	}
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

// canRelogin says whether i logs in again.
func (m *Model) canRelogin() bool {
	if m.opts.Login == nil {
		return false
	}
	return m.conn == connKicked || m.conn == connOffline || (m.sigExpired && m.opts.CanRenewSig)
}

// dial places a call to a dial string.
func (m *Model) dial(text string) tea.Cmd {
	if m.call != nil {
		// enter on a contact during a (compact) call: say why nothing rings.
		m.setStatus(m.cat.T("st.dial.incall", m.keys.Hangup.Help().Key))
		m.statusErr = true
		return nil
	}
	if rest, ok := isJoin(text); ok {
		return m.join(rest)
	}
	t, err := parseTarget(text, m.opts.DefaultGroup)
	switch {
	case errors.Is(err, errNeedGroup):
		m.setStatus(m.cat.T("st.group.needed"))
		m.statusErr = true
		return nil
	case errors.Is(err, errNoTarget):
		m.setStatus(m.cat.T("st.dial.empty"))
		return nil
	case err != nil:
		m.setError(err)
		return nil
	}
	media := m.home.media()
	c := m.newCall()
	c.phase = phaseOutgoing
	c.media = media
	c.group = t.group
	c.caller = m.opts.User
	c.target = t.String()
	for _, u := range t.users {
		c.peer(u)
	}
	m.call = c
	c.dialed, c.dialedTyping = m.home.dial, m.home.typing
	m.home.typing = false
	m.home.dial = nil
	m.setStatus(m.cat.T("st.placing", t.String()))
	m.setRingback(true)
	return m.act.place(t, media)
}

// join joins a running group call ("join CALLID", "join group:G room N").
func (m *Model) join(text string) tea.Cmd {
	j, err := parseJoin(text)
	if errors.Is(err, errJoinSyntax) {
		m.setStatus(m.cat.T("st.join.syntax"))
		m.statusErr = true
		return nil
	}
	if err != nil {
		m.setError(err)
		return nil
	}
	media := m.home.media()
	c := m.newCall()
	c.phase, c.joining, c.media = phaseOutgoing, true, media
	c.group, c.target, c.id = j.group, j.String(), j.callID
	m.call = c
	c.dialed, c.dialedTyping = m.home.dial, m.home.typing
	m.home.typing = false
	m.home.dial = nil
	m.setStatus(m.cat.T("st.joining", j.String()))
	return m.act.join(j, media)
}

// setRingback starts or stops the ringback tone.
func (m *Model) setRingback(on bool) {
	if m.opts.Ringback == nil || m.ringback == on {
		return
	}
	m.ringback = on
	m.opts.Ringback.Ringback(on)
}

func (m *Model) newCall() *callModel {
	c := &callModel{st: m.styles, keys: &m.keys, cat: m.cat, act: m.act, me: m.opts.User,
		floatWindow: m.set.FloatWindow, route: engine.AudioPlaybackSpeakerphone, muted: m.micMuted, noMic: m.noMic,
		video: m.opts.Video}
	c.SetSize(m.width, max(1, m.bodyHeight()))
	return c
}

// event applies one engine event.
func (m *Model) event(ev engine.Event) tea.Cmd {
	switch ev := ev.(type) {
	case engine.ConnectionChanged:
		switch ev.State {
		case engine.Connected:
			if m.conn != connKicked {
				m.conn = connOnline
			}
		case engine.Connecting:
			m.conn = connConnecting
		case engine.Reconnecting:
			m.conn = connReconnecting
			m.setStatus(m.cat.T("st.reconnecting"))
		case engine.Disconnected:
			if m.conn != connKicked {
				m.conn = connOffline
			}
		}
		return nil
	case engine.KickedOffline:
		m.conn = connKicked
		cmd := m.endCall()
		m.setStatus(m.cat.T("st.kicked", m.opts.User))
		m.statusErr = true
		return cmd
	case engine.UserSigExpired:
		m.sigExpired = true
		m.setStatus(m.cat.T("st.sigexpired"))
		m.statusErr = true
		return nil
	case engine.ErrorEvent:
		m.setError(&engine.Error{Code: ev.Code, Message: ev.Message})
		return nil
	case engine.CallMissed: // --- kit: match the reference ---
		who := ev.CallerID
		if ev.Caller.Nickname != "" {
			who = ev.Caller.Nickname
		}
		m.setStatus(m.cat.T("st.missed.busy", who))
		return m.act.records()
	case engine.CallReceived:
		if m.call != nil {
			return nil // the engine has one call at a time
		}
		c := m.newCall()
		c.id, c.phase, c.media = ev.CallID, phaseIncoming, ev.MediaType
		c.group, c.caller, c.nickname, c.userData = ev.GroupID, ev.CallerID, ev.Caller.Nickname, ev.UserData
		c.banner = m.set.IncomingBanner
		c.peer(ev.CallerID).state = peerJoined
		for _, u := range ev.CalleeIDList {
			if u != m.opts.User {
				c.peer(u)
			}
		}
		m.call = c
		var notify tea.Cmd
		if m.opts.Notify != nil {
			who := ev.CallerID
			if ev.Caller.Nickname != "" {
				who = ev.Caller.Nickname
			}
			if seq := m.opts.Notify("termcall", m.cat.T("notify.incoming", who)); seq != "" {
				notify = tea.Raw(seq)
			}
		}
		if m.set.MuteMode {
			return notify
		}
		if m.opts.Ringer != nil {
			m.opts.Ringer.Ring(true)
		}
		if notify != nil {
			return tea.Batch(bell, notify)
		}
		return bell
	}
	if m.call == nil {
		return nil
	}
	id := callIDOf(ev)
	if id != "" && m.call.id == "" && m.call.phase == phaseOutgoing {
		m.call.id = id // an event that overtook the reply to Call
	}
	if id != "" && id != m.call.id {
		return nil
	}
	wasActive := m.call.phase == phaseActive
	if end := m.call.handle(ev, m.now()); end != nil {
		cmd := m.endCall()
		m.status, m.statusErr = end.status, end.err
		return tea.Batch(m.act.records(), cmd)
	}
	if !wasActive && m.call.phase == phaseActive {
		m.stopRinging()
		m.setRingback(false)
		m.setStatus(m.cat.T("st.connected"))
		return m.tick(m.call.id)
	}
	if mc, ok := ev.(engine.CallMediaTypeChanged); ok && mc.UserID != m.opts.User && mc.UserID != "" {
		m.setStatus(m.cat.T("st.mediachanged", mc.UserID, mediaName(m.cat, mc.NewType)))
	}
	return nil
}

func (m *Model) stopRinging() {
	if m.opts.Ringer != nil {
		m.opts.Ringer.Ring(false)
	}
}

// endCall forgets the call, stops its sounds and applies the device
// changes made during it.
func (m *Model) endCall() tea.Cmd {
	if m.call != nil && m.call.phase == phaseIncoming {
		m.stopRinging()
	}
	m.setRingback(false)
	m.call = nil
	if m.pendingDevs != nil {
		prev := *m.pendingDevs
		m.pendingDevs = nil
		m.settings.pending = false
		return m.applyDevices(m.set.Devices, prev)
	}
	return nil
}

// bell rings the terminal bell.
func bell() tea.Msg { return tea.RawMsg{Msg: "\a"} }

// callIDOf is the call an event is about; "" for events without one.
func callIDOf(ev engine.Event) string {
	switch ev := ev.(type) {
	case engine.CallCancelled:
		return ev.CallID
	case engine.CallBegin:
		return ev.CallID
	case engine.CallEnd:
		return ev.CallID
	case engine.CallMediaTypeChanged:
		return ev.CallID
	case engine.UserReject:
		return ev.CallID
	case engine.UserNoResponse:
		return ev.CallID
	case engine.UserLineBusy:
		return ev.CallID
	case engine.UserJoin:
		return ev.CallID
	case engine.UserLeave:
		return ev.CallID
	case engine.GroupCallInviteeListUpdate:
		return ev.CallID
	case engine.UserAudioAvailable:
		return ev.CallID
	case engine.UserVideoAvailable:
		return ev.CallID
	}
	return ""
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

// hint says what to do about the connection, or "".
func (m *Model) hint() string {
	switch {
	case m.conn == connKicked:
		return m.cat.T("hint.kicked")
	case m.conn == connOffline && m.opts.Login != nil:
		return m.cat.T("hint.offline")
	case m.sigExpired && m.opts.CanRenewSig:
		return m.cat.T("hint.sig.renew")
	case m.sigExpired:
		return m.cat.T("hint.sig.restart")
	}
	return ""
}

func (m *Model) connText() string {
	st := m.styles
	switch {
	case m.conn == connKicked:
		return st.Bad.Render("✗ " + m.cat.T("conn.kicked"))
	case m.conn == connOffline:
		return st.Bad.Render("✗ " + m.cat.T("conn.offline"))
	case m.conn == connConnecting:
		return st.Warn.Render("◌ " + m.cat.T("conn.connecting"))
	case m.conn == connReconnecting:
		return st.Warn.Render("◌ " + m.cat.T("conn.reconnecting"))
	case m.sigExpired:
		return st.Warn.Render("● " + m.cat.T("conn.sigexpired"))
	}
	return st.Online.Render("● " + m.cat.T("conn.online"))
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
		b.short = append([]key.Binding{m.keys.Relogin}, b.short...)
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

// Render draws the screen as a string (View's content).
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
	now := m.now()
	var body string
	switch {
	case m.call != nil && !m.call.Overlay():
		body = m.call.View(now)
	default:
		if m.call != nil && m.call.phase == phaseIncoming {
			out = append(out, m.call.BannerView())
		} else if m.call != nil {
			out = append(out, m.call.CompactView(now))
		}
		switch m.screen {
		case screenHistory:
			body = m.history.View()
		case screenSettings:
			body = m.settings.View()
		default:
			body = m.home.View()
		}
	}
	if bh := m.bodyHeight(); bh > 0 {
		out = append(out, fit(body, m.width, bh))
	}
	status := st.Status
	if m.statusErr {
		status = st.StatusErr
	}
	out = append(out, status.Render(truncate(m.status, m.width)), m.helpView())
	return strings.Join(out, "\n")
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

// retryLoginMsg asks for another login attempt (loginRetryable).
type retryLoginMsg struct{}

// loginRetryable: errors of a server that is away or not ready, after
// which a login is worth trying again by itself; a refused userSig or a
// kick is not.
func loginRetryable(err error) bool {
	for _, c := range []engine.Code{protocol.CodeServerUnreachable, protocol.CodeRequestTimeout, protocol.CodeConnectionLost,
		protocol.CodeShuttingDown, protocol.CodeStoreUnavailable, protocol.CodeClusterUnavailable, protocol.CodeTooManyConnections} {
		if engine.IsCode(err, c) {
			return true
		}
	}
	return false
}
