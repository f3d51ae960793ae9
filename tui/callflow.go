package tui

import (
	"errors"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/termcall/termcall/engine"
)

// The root's side of a call: placing and joining one from the dial box,
// the engine's call events (which the call model applies), the results of
// the call's actions, and the sounds (ringtone, ringback, bell).

// dial places a call to a dial string.
func (m *Model) dial(text string) tea.Cmd {
	if m.call != nil {
		// enter on a contact during a (compact) call: say why nothing rings.
		m.setStatusErr(m.cat.T("st.dial.incall", m.keys.Call.Hangup.Help().Key))
		return nil
	}
	if rest, ok := isJoin(text); ok {
		return m.join(rest)
	}
	t, err := parseTarget(text, m.opts.DefaultGroup)
	if err != nil {
		m.dialError(err)
		return nil
	}
	c := m.outgoing()
	c.group, c.caller, c.target = t.group, m.opts.User, t.String()
	for _, u := range t.users {
		c.peer(u)
	}
	m.say(statusPlacing, m.cat.T("st.placing", t.String()))
	m.setRingback(true)
	return m.act.place(t, c.media)
}

// dialError says what is wrong with a dial string.
func (m *Model) dialError(err error) {
	switch {
	case errors.Is(err, errNeedGroup):
		m.setStatusErr(m.cat.T("st.group.needed"))
	case errors.Is(err, errNoTarget):
		m.setStatus(m.cat.T("st.dial.empty"))
	default:
		m.setError(err)
	}
}

// join joins a running group call ("join CALLID", "join group:G room N").
func (m *Model) join(text string) tea.Cmd {
	j, err := parseJoin(text)
	if errors.Is(err, errJoinSyntax) {
		m.setStatusErr(m.cat.T("st.join.syntax"))
		return nil
	}
	if err != nil {
		m.setError(err)
		return nil
	}
	c := m.outgoing()
	c.joining = true
	c.group, c.target, c.id = j.group, j.String(), j.callID
	m.say(statusJoining, m.cat.T("st.joining", j.String()))
	return m.act.join(j, c.media)
}

// outgoing makes the call this user places (or joins) the current one. It
// takes the dial box's text and focus along, to give them back if placing
// fails.
func (m *Model) outgoing() *callModel {
	c := m.newCall()
	c.phase, c.media = phaseOutgoing, m.home.media()
	c.dialed, c.dialedTyping = m.home.dial, m.home.typing
	m.home.typing, m.home.dial = false, nil
	m.call = c
	return c
}

func (m *Model) newCall() *callModel {
	c := &callModel{st: m.styles, keys: &m.keys.Call, cat: m.cat, act: m.act, me: m.opts.User,
		floatWindow: m.set.FloatWindow, route: engine.AudioPlaybackSpeakerphone, muted: m.micMuted, noMic: m.noMic,
		video: m.opts.Video}
	c.SetSize(m.width, max(1, m.bodyHeight()))
	return c
}

// onCall handles the results of the call's actions, and its clock.
func (m *Model) onCall(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case tickMsg:
		return m.ticked(msg), true
	case placedMsg:
		return m.placed(msg), true
	case micMsg:
		m.micDone(msg)
	case routeMsg:
		m.routeDone(msg)
	case invitedMsg:
		if msg.err != nil {
			m.setError(msg.err)
		} else {
			m.setStatus(m.cat.T("st.invited", strings.Join(msg.ids, ", ")))
		}
	case externalMsg: // --- kit: control ---
		m.syncFromEngine(msg.what)
	default:
		return nil, false
	}
	return nil, true
}

// ticked runs the clock on while its call is connected.
func (m *Model) ticked(msg tickMsg) tea.Cmd {
	if m.call != nil && m.call.id == msg.callID && m.call.phase == phaseActive {
		return m.tick(msg.callID)
	}
	return nil
}

// placed is the reply to Call, GroupCall or a join.
func (m *Model) placed(msg placedMsg) tea.Cmd {
	c := m.call
	if c == nil || c.phase != phaseOutgoing {
		return nil
	}
	if msg.err != nil {
		return m.placeFailed(msg.err)
	}
	if c.id == "" {
		c.id = msg.info.CallID
	}
	switch {
	case m.statusKind == statusPlacing:
		m.setStatus(m.cat.T("st.placed", c.target))
	case c.joining && m.statusKind == statusJoining:
		m.setStatus(m.cat.T("st.joined", c.target))
	}
	c.placed(msg.info)
	return nil
}

// placeFailed ends a call that could not be placed; the dial box gets
// back what was typed, and the focus, to fix it.
func (m *Model) placeFailed(err error) tea.Cmd {
	dialed, typing := m.call.dialed, m.call.dialedTyping
	cmd := m.endCall()
	m.setError(err)
	if m.home.dial == nil && !m.home.typing {
		m.home.dial, m.home.typing = dialed, typing
	}
	return cmd
}

func (m *Model) micDone(msg micMsg) {
	if msg.err != nil {
		m.setError(msg.err)
		return
	}
	m.micMuted = msg.muted
	if m.call != nil {
		m.call.muted = msg.muted
	}
	m.setStatus(m.cat.T(map[bool]string{true: "st.muted", false: "st.unmuted"}[msg.muted]))
}

func (m *Model) routeDone(msg routeMsg) {
	if msg.err != nil {
		m.setError(msg.err)
		return
	}
	if m.call != nil {
		m.call.route = msg.device
	}
	m.setStatus(m.cat.T("st.route", m.routeName(msg.device)))
}

func (m *Model) routeName(d engine.AudioPlaybackDevice) string {
	if d == engine.AudioPlaybackEarpiece {
		return m.cat.T("earpiece")
	}
	return m.cat.T("speaker")
}

// event applies one engine event: the session's, a call that rings or was
// missed, or one of the current call.
func (m *Model) event(ev engine.Event) tea.Cmd {
	if cmd, ok := m.sessionEvent(ev); ok {
		return cmd
	}
	switch ev := ev.(type) {
	case engine.CallMissed: // --- kit: match the reference ---
		m.setStatus(m.cat.T("st.missed.busy", nameOf(ev.CallerID, ev.Caller.Nickname)))
		return m.act.records()
	case engine.CallReceived:
		return m.received(ev)
	}
	return m.callEvent(ev)
}

// nameOf is a user as the status line names them: the nickname if known.
func nameOf(id, nickname string) string {
	if nickname != "" {
		return nickname
	}
	return id
}

// received shows a call that rings for this user and rings: the bell and
// the ringtone (not in mute mode), and a desktop notification.
func (m *Model) received(ev engine.CallReceived) tea.Cmd {
	if m.call != nil {
		return nil // the engine has one call at a time
	}
	m.call = m.incomingCall(ev)
	notify := m.notify(ev)
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

func (m *Model) incomingCall(ev engine.CallReceived) *callModel {
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
	return c
}

// notify shows the desktop notification of an incoming call (Options.Notify);
// the command writes what it returns, if anything.
func (m *Model) notify(ev engine.CallReceived) tea.Cmd {
	if m.opts.Notify == nil {
		return nil
	}
	if seq := m.opts.Notify("termcall", m.cat.T("notify.incoming", nameOf(ev.CallerID, ev.Caller.Nickname))); seq != "" {
		return tea.Raw(seq)
	}
	return nil
}

// callEvent hands an event of the current call to it, and follows what
// happened: the call ended, or connected, or changed its media.
func (m *Model) callEvent(ev engine.Event) tea.Cmd {
	if !m.ofCurrentCall(ev) {
		return nil
	}
	wasActive := m.call.phase == phaseActive
	if end := m.call.handle(ev, m.now()); end != nil {
		cmd := m.endCall()
		m.setStatus(end.status)
		m.statusErr = end.err
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

// ofCurrentCall says whether ev is about the current call (or about no
// call in particular). An event that overtook the reply to Call gives an
// outgoing call its ID.
func (m *Model) ofCurrentCall(ev engine.Event) bool {
	if m.call == nil {
		return false
	}
	id := callIDOf(ev)
	if id != "" && m.call.id == "" && m.call.phase == phaseOutgoing {
		m.call.id = id
	}
	return id == "" || id == m.call.id
}

// setRingback starts or stops the ringback tone.
func (m *Model) setRingback(on bool) {
	if m.opts.Ringback == nil || m.ringback == on {
		return
	}
	m.ringback = on
	m.opts.Ringback.Ringback(on)
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
