package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
)

// The session: logging in (and again, by itself or on i), the connection
// as the engine reports it, and what the header and the hint line say
// about it.

func (m *Model) login() tea.Cmd {
	m.conn = connConnecting
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), m.opts.RequestTimeout)
		defer cancel()
		return loginMsg{err: m.opts.Login(ctx)}
	}
}

// onSession handles the results of logging in and the end of the events.
func (m *Model) onSession(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case eventsClosedMsg:
		m.conn = connOffline
		m.setStatus(m.cat.T("st.eventsclosed"))
		return nil, true
	case loginMsg:
		if msg.err != nil {
			return m.loginFailed(msg.err), true
		}
		return m.loggedIn(), true
	case retryLoginMsg:
		if m.conn == connOffline && m.opts.Login != nil {
			return m.login(), true
		}
		return nil, true
	}
	return nil, false
}

// loginFailed shows why; a server that is away or not ready is tried
// again by itself, backing off, as the bot does (i still logs in now).
func (m *Model) loginFailed(err error) tea.Cmd {
	m.conn = connOffline
	m.setError(err)
	if !loginRetryable(err) {
		return nil
	}
	d := min(time.Second<<min(m.loginTries, 4), 10*time.Second)
	m.loginTries++
	m.setStatusErr(m.cat.T("st.login.retry", errorText(err), int(d/time.Second), m.keys.Global.Relogin.Help().Key))
	return m.retryAfter(d)
}

func (m *Model) loggedIn() tea.Cmd {
	m.loginTries = 0
	m.conn = connOnline
	m.sigExpired = false
	if m.statusKind == statusLoggingIn || m.status == "" {
		m.setStatus(m.cat.T("st.loggedin", m.opts.User))
	}
	return m.act.records()
}

// sessionEvent applies an engine event about the connection or the login;
// ok is false for the other events.
func (m *Model) sessionEvent(ev engine.Event) (cmd tea.Cmd, ok bool) {
	switch ev := ev.(type) {
	case engine.ConnectionChanged:
		m.connectionChanged(ev.State)
	case engine.KickedOffline:
		m.conn = connKicked
		cmd = m.endCall()
		m.setStatusErr(m.cat.T("st.kicked", m.opts.User))
	case engine.UserSigExpired:
		m.sigExpired = true
		m.setStatusErr(m.cat.T("st.sigexpired"))
	case engine.ErrorEvent:
		m.setError(&engine.Error{Code: ev.Code, Message: ev.Message})
	default:
		return nil, false
	}
	return cmd, true
}

// connectionChanged follows the engine's connection; a kick stays shown
// until the next login.
func (m *Model) connectionChanged(s engine.ConnectionState) {
	switch s {
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
}

// canRelogin says whether i logs in again.
func (m *Model) canRelogin() bool {
	if m.opts.Login == nil {
		return false
	}
	return m.conn == connKicked || m.conn == connOffline || (m.sigExpired && m.opts.CanRenewSig)
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
