package engine

import "github.com/termcall/termcall/protocol"

// The reference's types and enums, with its names and numeric values. They
// are the protocol package's types, so that values pass through unchanged.
type (
	MediaType         = protocol.MediaType
	Role              = protocol.Role
	Status            = protocol.Status
	Scene             = protocol.Scene
	ResultType        = protocol.ResultType
	EndReason         = protocol.EndReason
	RoomID            = protocol.RoomID
	OfflinePushInfo   = protocol.OfflinePushInfo
	CallRecord        = protocol.CallRecord
	RecentCallsFilter = protocol.RecentCallsFilter
	UserInfo          = protocol.UserInfo
	Participant       = protocol.Participant
	// Error is the error every Engine method returns: a stable code
	// (docs/errors.md) and a message.
	Error = protocol.Error
	// Code is a stable numeric error code.
	Code = protocol.Code
)

// Enum values (see protocol for the full lists).
const (
	MediaTypeUnknown = protocol.MediaTypeUnknown
	MediaTypeAudio   = protocol.MediaTypeAudio
	MediaTypeVideo   = protocol.MediaTypeVideo

	RoleNone   = protocol.RoleNone
	RoleCaller = protocol.RoleCaller
	RoleCalled = protocol.RoleCalled

	StatusNone    = protocol.StatusNone
	StatusWaiting = protocol.StatusWaiting
	StatusAccept  = protocol.StatusAccept

	SceneGroupCall  = protocol.SceneGroupCall
	SceneMultiCall  = protocol.SceneMultiCall
	SceneSingleCall = protocol.SceneSingleCall

	ResultUnknown  = protocol.ResultUnknown
	ResultMissed   = protocol.ResultMissed
	ResultIncoming = protocol.ResultIncoming
	ResultOutgoing = protocol.ResultOutgoing

	ReasonUnknown             = protocol.ReasonUnknown
	ReasonHangup              = protocol.ReasonHangup
	ReasonReject              = protocol.ReasonReject
	ReasonNoResponse          = protocol.ReasonNoResponse
	ReasonOffline             = protocol.ReasonOffline
	ReasonLineBusy            = protocol.ReasonLineBusy
	ReasonCanceled            = protocol.ReasonCanceled
	ReasonOtherDeviceAccepted = protocol.ReasonOtherDeviceAccepted
	ReasonOtherDeviceReject   = protocol.ReasonOtherDeviceReject
	ReasonEndByServer         = protocol.ReasonEndByServer
)

// IntRoom returns an integer RoomID (1..2^31-1).
func IntRoom(n uint32) RoomID { return protocol.IntRoom(n) }

// StrRoom returns a string RoomID (<= 64 bytes from the reference's set).
func StrRoom(s string) RoomID { return protocol.StrRoom(s) }

// CallParams are the reference's CallParams. Timeout is the invitation
// timeout (0 means 30 s; whole seconds from 1 s to 600 s).
type CallParams = protocol.CallParams

// CallInfo describes the engine's current call.
type CallInfo = protocol.CallState
