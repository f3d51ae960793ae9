package engine

import (
	"encoding/json"

	"github.com/termcall/termcall/protocol"
)

// Event is one TUICallObserver callback. Name returns the callback's name
// ("onCallBegin"); the event's JSON form is {"event": Name(), ...fields}.
type Event interface {
	Name() string
}

// Observer receives every event of an engine, in order, on the engine's
// dispatch goroutine. It must not block for long.
type Observer interface {
	OnEvent(Event)
}

type funcObserver struct{ f func(Event) }

func (o *funcObserver) OnEvent(ev Event) { o.f(ev) }

// NewObserver wraps a function as an Observer that RemoveObserver can find.
func NewObserver(f func(Event)) Observer { return &funcObserver{f: f} }

// CallReceived: an invitation rings for this user (callee only).
type CallReceived struct {
	CallID       string    `json:"callId"`
	CallerID     string    `json:"callerId"`
	CalleeIDList []string  `json:"calleeIdList"`
	GroupID      string    `json:"groupId"`
	MediaType    MediaType `json:"mediaType"`
	UserData     string    `json:"userData"`
	RoomID       RoomID    `json:"roomId"`
	Scene        Scene     `json:"scene"`
	Caller       UserInfo  `json:"caller"`
	// InviterID is who invited this user when that is not the caller
	// (someone in the call used InviteUser); empty otherwise.
	InviterID string `json:"inviterId,omitempty"`
}

// CallCancelled: the call was never established for this user. UserID
// follows the reference's native rules (the caller's ID when the caller
// cancels, this user's own ID otherwise); Reason says why.
type CallCancelled struct {
	CallID string    `json:"callId"`
	UserID string    `json:"userId"`
	Reason EndReason `json:"reason"`
}

// CallBegin: the call connected for this user.
type CallBegin struct {
	CallID    string    `json:"callId"`
	RoomID    RoomID    `json:"roomId"`
	MediaType MediaType `json:"mediaType"`
	Role      Role      `json:"role"`
}

// CallEnd: the call ended for this user. TotalTime is in seconds; UserID is
// the user whose action ended it.
type CallEnd struct {
	CallID    string    `json:"callId"`
	RoomID    RoomID    `json:"roomId"`
	MediaType MediaType `json:"mediaType"`
	Role      Role      `json:"role"`
	TotalTime int64     `json:"totalTime"`
	Reason    EndReason `json:"reason"`
	UserID    string    `json:"userId"`
}

// CallMediaTypeChanged: the call switched between audio and video.
type CallMediaTypeChanged struct {
	CallID  string    `json:"callId"`
	OldType MediaType `json:"oldType"`
	NewType MediaType `json:"newType"`
	UserID  string    `json:"userId"`
}

// UserReject: an invitee declined.
type UserReject struct {
	CallID string `json:"callId"`
	UserID string `json:"userId"`
}

// UserNoResponse: an invitee did not answer in time.
type UserNoResponse struct {
	CallID string `json:"callId"`
	UserID string `json:"userId"`
}

// UserLineBusy: an invitee was in another call, or ignored the invitation.
type UserLineBusy struct {
	CallID string `json:"callId"`
	UserID string `json:"userId"`
}

// UserJoin: someone entered the call.
type UserJoin struct {
	CallID string `json:"callId"`
	UserID string `json:"userId"`
}

// UserLeave: someone left the call.
type UserLeave struct {
	CallID string `json:"callId"`
	UserID string `json:"userId"`
}

// GroupCallInviteeListUpdate: the people in or invited to a group call
// changed (the Web GROUP_CALL_INVITEE_LIST_UPDATE).
type GroupCallInviteeListUpdate struct {
	CallID     string   `json:"callId"`
	UserIDList []string `json:"userIdList"`
}

// KickedOffline: another login of this user displaced this engine. Its calls
// ended; call Init again to log back in.
type KickedOffline struct{}

// UserSigExpired: the userSig expired while online. Calls go on; call Init
// with a new userSig before starting or joining calls.
type UserSigExpired struct{}

// ErrorEvent is onError: an error outside any method call, such as a lost
// connection that could not be restored.
type ErrorEvent struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// ConnectionState is the state of the engine's link to the server.
type ConnectionState int

// Connection states.
const (
	Disconnected ConnectionState = iota
	Connecting
	Connected
	Reconnecting
)

func (c ConnectionState) String() string {
	switch c {
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	case Reconnecting:
		return "reconnecting"
	}
	return "disconnected"
}

// MarshalText writes the state's name.
func (c ConnectionState) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// ConnectionChanged is termcall's addition: the link to the server changed.
type ConnectionChanged struct {
	State ConnectionState `json:"state"`
}

func (CallReceived) Name() string               { return protocol.EventCallReceived }
func (CallCancelled) Name() string              { return protocol.EventCallCancelled }
func (CallBegin) Name() string                  { return protocol.EventCallBegin }
func (CallEnd) Name() string                    { return protocol.EventCallEnd }
func (CallMediaTypeChanged) Name() string       { return protocol.EventCallMediaTypeChanged }
func (UserReject) Name() string                 { return protocol.EventUserReject }
func (UserNoResponse) Name() string             { return protocol.EventUserNoResponse }
func (UserLineBusy) Name() string               { return protocol.EventUserLineBusy }
func (UserJoin) Name() string                   { return protocol.EventUserJoin }
func (UserLeave) Name() string                  { return protocol.EventUserLeave }
func (GroupCallInviteeListUpdate) Name() string { return protocol.EventInviteeListUpdate }
func (KickedOffline) Name() string              { return protocol.EventKickedOffline }
func (UserSigExpired) Name() string             { return protocol.EventUserSigExpired }
func (ErrorEvent) Name() string                 { return protocol.EventError }
func (ConnectionChanged) Name() string          { return "onConnectionChanged" }

// --- kit: match the reference ---

// CallMissed: someone called while this user was busy in another call (or
// ringing); the caller was told line busy. Nothing rings: it is for a
// "missed call from X (you were in a call)" at once. Reason is lineBusy.
type CallMissed struct {
	CallID    string    `json:"callId"`
	CallerID  string    `json:"callerId"`
	GroupID   string    `json:"groupId"`
	MediaType MediaType `json:"mediaType"`
	Caller    UserInfo  `json:"caller"`
	Reason    EndReason `json:"reason"`
}

func (CallMissed) Name() string { return protocol.EventCallMissed }

// MarshalEvent returns the event's JSON form: {"event":"onCallBegin", ...}.
func MarshalEvent(ev Event) ([]byte, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, err
	}
	name, _ := json.Marshal(ev.Name())
	out := make([]byte, 0, len(b)+len(name)+10)
	out = append(out, `{"event":`...)
	out = append(out, name...)
	if len(b) > 2 {
		out = append(out, ',')
		out = append(out, b[1:]...)
	} else {
		out = append(out, '}')
	}
	return out, nil
}

// fromWire turns a server event into a typed event; nil for unknown names.
func fromWire(w *protocol.Event) Event {
	conv := wireEvents[w.Event]
	if conv == nil {
		return nil
	}
	room := protocol.RoomID{}
	if w.RoomID != nil {
		room = *w.RoomID
	}
	return conv(w, room)
}

// wireEvents converts each server event (by name) into its typed event;
// room is the event's room, zero without one.
var wireEvents = map[string]func(w *protocol.Event, room protocol.RoomID) Event{
	protocol.EventCallReceived: callReceivedFromWire,
	protocol.EventCallCancelled: func(w *protocol.Event, _ protocol.RoomID) Event {
		return CallCancelled{CallID: w.CallID, UserID: w.UserID, Reason: w.Reason}
	},
	protocol.EventCallBegin: func(w *protocol.Event, room protocol.RoomID) Event {
		return CallBegin{CallID: w.CallID, RoomID: room, MediaType: w.MediaType, Role: w.Role}
	},
	protocol.EventCallEnd: func(w *protocol.Event, room protocol.RoomID) Event {
		return CallEnd{CallID: w.CallID, RoomID: room, MediaType: w.MediaType, Role: w.Role, TotalTime: w.TotalTime, Reason: w.Reason, UserID: w.UserID}
	},
	protocol.EventCallMediaTypeChanged: func(w *protocol.Event, _ protocol.RoomID) Event {
		return CallMediaTypeChanged{CallID: w.CallID, OldType: w.OldMediaType, NewType: w.MediaType, UserID: w.UserID}
	},
	protocol.EventUserReject: func(w *protocol.Event, _ protocol.RoomID) Event {
		return UserReject{CallID: w.CallID, UserID: w.UserID}
	},
	protocol.EventUserNoResponse: func(w *protocol.Event, _ protocol.RoomID) Event {
		return UserNoResponse{CallID: w.CallID, UserID: w.UserID}
	},
	protocol.EventUserLineBusy: func(w *protocol.Event, _ protocol.RoomID) Event {
		return UserLineBusy{CallID: w.CallID, UserID: w.UserID}
	},
	protocol.EventUserJoin: func(w *protocol.Event, _ protocol.RoomID) Event {
		return UserJoin{CallID: w.CallID, UserID: w.UserID}
	},
	protocol.EventUserLeave: func(w *protocol.Event, _ protocol.RoomID) Event {
		return UserLeave{CallID: w.CallID, UserID: w.UserID}
	},
	protocol.EventUserAudioAvailable: func(w *protocol.Event, _ protocol.RoomID) Event {
		return UserAudioAvailable{CallID: w.CallID, UserID: w.UserID, IsAudioAvailable: w.Available != nil && *w.Available}
	},
	protocol.EventUserVideoAvailable: func(w *protocol.Event, _ protocol.RoomID) Event {
		return UserVideoAvailable{CallID: w.CallID, UserID: w.UserID, IsVideoAvailable: w.Available != nil && *w.Available}
	},
	protocol.EventInviteeListUpdate: func(w *protocol.Event, _ protocol.RoomID) Event {
		return GroupCallInviteeListUpdate{CallID: w.CallID, UserIDList: w.UserIDList}
	},
	protocol.EventCallMissed:     callMissedFromWire, // --- kit: match the reference ---
	protocol.EventKickedOffline:  func(*protocol.Event, protocol.RoomID) Event { return KickedOffline{} },
	protocol.EventUserSigExpired: func(*protocol.Event, protocol.RoomID) Event { return UserSigExpired{} },
	protocol.EventError: func(w *protocol.Event, _ protocol.RoomID) Event {
		return ErrorEvent{Code: w.Code, Message: w.Message}
	},
}

func callReceivedFromWire(w *protocol.Event, room protocol.RoomID) Event {
	ev := CallReceived{CallID: w.CallID, CallerID: w.CallerID, CalleeIDList: w.CalleeIDList, GroupID: w.GroupID,
		MediaType: w.MediaType, UserData: w.UserData, RoomID: room, Scene: w.Scene, InviterID: w.InviterID}
	if w.Caller != nil {
		ev.Caller = *w.Caller
	}
	if ev.CalleeIDList == nil {
		ev.CalleeIDList = []string{}
	}
	return ev
}

func callMissedFromWire(w *protocol.Event, _ protocol.RoomID) Event {
	ev := CallMissed{CallID: w.CallID, CallerID: w.CallerID, GroupID: w.GroupID, MediaType: w.MediaType, Reason: w.Reason}
	if w.Caller != nil {
		ev.Caller = *w.Caller
	}
	return ev
}
