package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/termcall/termcall/engine"
)

// Engine is what the TUI asks of a call engine; *engine.Engine is one.
// Every method runs inside a tea.Cmd, never on the UI goroutine.
type Engine interface {
	Call(ctx context.Context, userID string, mediaType engine.MediaType, params engine.CallParams) (engine.CallInfo, error)
	GroupCall(ctx context.Context, groupID string, userIDs []string, mediaType engine.MediaType, params engine.CallParams) (engine.CallInfo, error)
	Accept(ctx context.Context) error
	Reject(ctx context.Context) error
	Ignore(ctx context.Context) error
	Hangup(ctx context.Context) error
	InviteUser(ctx context.Context, userIDs []string, params engine.CallParams) ([]string, error)
	SwitchCallMediaType(ctx context.Context, mediaType engine.MediaType) error
	OpenMicrophone(ctx context.Context) error
	CloseMicrophone(ctx context.Context) error
	SelectAudioPlaybackDevice(device engine.AudioPlaybackDevice) error
	QueryRecentCalls(ctx context.Context, filter engine.RecentCallsFilter) ([]engine.CallRecord, error)
	DeleteRecordCalls(ctx context.Context, callIDs []string) ([]string, error)
	JoinInGroupCall(ctx context.Context, roomID engine.RoomID, groupID string, mediaType engine.MediaType) (engine.CallInfo, error)
	Join(ctx context.Context, callID string) (engine.CallInfo, error)
	SetSelfInfo(ctx context.Context, nickname, avatar string) error
}

var _ Engine = (*engine.Engine)(nil)

// Ringer plays the ringtone of an incoming call through the sound device.
type Ringer interface {
	Ring(on bool)
}

// Ringbacker plays the ringback tone a caller hears while the call rings;
// the TUI starts it when it places a call and stops it when the call
// begins or ends.
type Ringbacker interface {
	Ringback(on bool)
}

// VideoView draws a remote user's latest video picture into a terminal
// area of cols x rows cells (text: half-blocks and colors, one line per
// row); ok is false while there is no picture of that user.
type VideoView interface {
	Frame(userID string, cols, rows int) (text string, ok bool)
}

// AudioDevices are the sound devices by name ("" = the system default; for
// Earpiece, the speaker's device).
type AudioDevices struct {
	Mic, Speaker, Earpiece string
}

// DeviceInfo is one sound device as the settings screen lists it.
type DeviceInfo struct {
	Name    string
	Capture bool // a microphone; false: a playback device
	Default bool
}

// AudioControl is the sound side of the settings screen (cmd passes the
// call audio). SetCallingBell and SetDevices run inside commands;
// EnableMuteMode must not block.
type AudioControl interface {
	// SetCallingBell sets the ringtone file; "" restores the built-in one.
	// A bad file is an error and keeps the old ringtone.
	SetCallingBell(path string) error
	// EnableMuteMode silences the ringtone of incoming calls.
	EnableMuteMode(on bool)
	// SetDevices switches the sound devices. The TUI calls it only when no
	// call is in progress. sending says whether anything is sent now (false:
	// no audio input).
	SetDevices(d AudioDevices) (sending bool, err error)
}

// Messages: engine events and the results of engine calls.
type (
	// eventMsg carries one engine event.
	eventMsg struct{ ev engine.Event }
	// eventsClosedMsg says the event channel was closed.
	eventsClosedMsg struct{}
	// loginMsg is the result of Options.Login.
	loginMsg struct{ err error }
	// placedMsg is the result of Call or GroupCall.
	placedMsg struct {
		info engine.CallInfo
		err  error
	}
	// doneMsg is the result of an action without data; ok is the status
	// to show on success ("" for none).
	doneMsg struct {
		ok  string
		err error
	}
	// micMsg is the result of Open/CloseMicrophone.
	micMsg struct {
		muted bool
		err   error
	}
	// routeMsg is the result of SelectAudioPlaybackDevice.
	routeMsg struct {
		device engine.AudioPlaybackDevice
		err    error
	}
	// invitedMsg is the result of InviteUser.
	invitedMsg struct {
		ids []string
		err error
	}
	// recordsMsg is the result of QueryRecentCalls.
	recordsMsg struct {
		records []engine.CallRecord
		err     error
	}
	// deletedMsg is the result of DeleteRecordCalls.
	deletedMsg struct {
		ids []string
		err error
	}
	// tickMsg advances the call timer of one call.
	tickMsg struct{ callID string }
	// devicesMsg is the result of Options.Devices.
	devicesMsg struct {
		list []DeviceInfo
		err  error
	}
	// audioDevicesMsg is the result of AudioControl.SetDevices.
	audioDevicesMsg struct {
		devs, prev AudioDevices
		sending    bool
		err        error
	}
	// bellMsg is the result of AudioControl.SetCallingBell.
	bellMsg struct {
		path string
		err  error
	}
	// selfInfoMsg is the result of SetSelfInfo.
	selfInfoMsg struct {
		nickname, avatar string
		err              error
	}
)

// Intents: what a screen asks the root model to do.
type (
	dialMsg     struct{ text string }
	historyMsg  struct{}
	homeMsg     struct{}
	refreshMsg  struct{}
	deleteMsg   struct{ ids []string }
	statusMsg   struct{ text string }
	settingsMsg struct{}
	setMsg      struct {
		field settingField
		value string
	}
	errStatusMsg struct{ err error }
)

// actions runs engine calls as commands, each with its own timeout.
type actions struct {
	eng     Engine
	timeout time.Duration
}

func (a actions) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), a.timeout)
}

func (a actions) do(ok string, f func(context.Context) error) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := a.ctx()
		defer cancel()
		return doneMsg{ok: ok, err: f(ctx)}
	}
}

func (a actions) place(t target, media engine.MediaType) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := a.ctx()
		defer cancel()
		var info engine.CallInfo
		var err error
		if t.group == "" {
			info, err = a.eng.Call(ctx, t.users[0], media, engine.CallParams{})
		} else {
			info, err = a.eng.GroupCall(ctx, t.group, t.users, media, engine.CallParams{})
		}
		return placedMsg{info: info, err: err}
	}
}

// join joins a running group call: by call ID, or by group and room.
func (a actions) join(j joinTarget, media engine.MediaType) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := a.ctx()
		defer cancel()
		var info engine.CallInfo
		var err error
		if j.callID != "" {
			info, err = a.eng.Join(ctx, j.callID)
		} else {
			info, err = a.eng.JoinInGroupCall(ctx, j.room, j.group, media)
		}
		return placedMsg{info: info, err: err}
	}
}

func (a actions) selfInfo(nickname, avatar string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := a.ctx()
		defer cancel()
		return selfInfoMsg{nickname: nickname, avatar: avatar, err: a.eng.SetSelfInfo(ctx, nickname, avatar)}
	}
}

func (a actions) mic(mute bool) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := a.ctx()
		defer cancel()
		if mute {
			return micMsg{muted: true, err: a.eng.CloseMicrophone(ctx)}
		}
		return micMsg{muted: false, err: a.eng.OpenMicrophone(ctx)}
	}
}

func (a actions) route(d engine.AudioPlaybackDevice) tea.Cmd {
	return func() tea.Msg { return routeMsg{device: d, err: a.eng.SelectAudioPlaybackDevice(d)} }
}

func (a actions) invite(ids []string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := a.ctx()
		defer cancel()
		got, err := a.eng.InviteUser(ctx, ids, engine.CallParams{})
		return invitedMsg{ids: got, err: err}
	}
}

func (a actions) records() tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := a.ctx()
		defer cancel()
		recs, err := a.eng.QueryRecentCalls(ctx, engine.RecentCallsFilter{Limit: 200})
		return recordsMsg{records: recs, err: err}
	}
}

func (a actions) deleteRecords(ids []string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := a.ctx()
		defer cancel()
		got, err := a.eng.DeleteRecordCalls(ctx, ids)
		return deletedMsg{ids: got, err: err}
	}
}

// waitEvent is the command that delivers the next engine event; the root
// model issues it again after each one.
func waitEvent(ch <-chan engine.Event) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsClosedMsg{}
		}
		return eventMsg{ev: ev}
	}
}

// --- kit: switch camera ---

// cameraSwitcher is the engine's SwitchCamera (*engine.Engine has it).
type cameraSwitcher interface {
	SwitchCamera(ctx context.Context, camera engine.Camera) error
	CurrentCamera() engine.Camera
}

// switchCamera switches to the other camera (SwitchCamera); an engine
// without cameras says so.
func (a actions) switchCamera(cat *Catalog) tea.Cmd {
	sw, ok := a.eng.(cameraSwitcher)
	if !ok {
		return func() tea.Msg { return statusMsg{cat.T("st.camera.none")} }
	}
	to := engine.CameraBack
	if sw.CurrentCamera() == engine.CameraBack {
		to = engine.CameraFront
	}
	name := cat.T("camera.front")
	if to == engine.CameraBack {
		name = cat.T("camera.back")
	}
	return a.do(cat.T("st.camera.switched", name), func(ctx context.Context) error { return sw.SwitchCamera(ctx, to) })
}
