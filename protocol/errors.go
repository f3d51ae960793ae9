package protocol

import (
	"errors"
	"fmt"
)

// Code is a stable numeric error code. The table lives in docs/errors.md;
// a test keeps the two in step.
type Code int

// Error codes. Never renumber: scripts and other SDKs match on them.
const (
	CodeOK Code = 0

	// 1xxx: the message itself.
	CodeMalformedMessage   Code = 1001
	CodeUnknownMessageType Code = 1002
	CodeMessageTooLarge    Code = 1003
	CodeInvalidArgument    Code = 1004
	CodeNotLoggedIn        Code = 1005
	CodeAlreadyLoggedIn    Code = 1006
	CodeUnsupportedVersion Code = 1007
	CodeBinaryFrame        Code = 1008

	// 2xxx: identity and authentication.
	CodeInvalidUserSig   Code = 2001
	CodeUserSigExpired   Code = 2002
	CodeSDKAppIDMismatch Code = 2003
	CodeUserSigMismatch  Code = 2004
	CodeKickedOffline    Code = 2005
	CodeNotAdministrator Code = 2006
	CodeOriginNotAllowed Code = 2007

	// 3xxx: bad values in a request.
	CodeInvalidUserID     Code = 3001
	CodeInvalidRoomID     Code = 3002
	CodeInvalidMediaType  Code = 3003
	CodeInvalidTimeout    Code = 3004
	CodeNicknameTooLong   Code = 3005
	CodeInvalidAvatar     Code = 3006
	CodeInvalidGroupID    Code = 3007
	CodeInvalidCallID     Code = 3008
	CodeUserDataTooLong   Code = 3009
	CodeInvalidInvitees   Code = 3010
	CodeCannotCallSelf    Code = 3011
	CodeInvalidSDKAppID   Code = 3012
	CodeInvalidPushInfo   Code = 3013
	CodeTooManyRecordsIDs Code = 3014

	// --- kit: push ---
	CodeInvalidPushEndpoint Code = 3015

	// 4xxx: the request does not fit the state of calls, users or groups.
	CodeUnknownUser        Code = 4001
	CodeNoSuchCall         Code = 4002
	CodeNotInCall          Code = 4003
	CodeWrongCallState     Code = 4004
	CodeSelfBusy           Code = 4005
	CodeGroupNotFound      Code = 4006
	CodeNotGroupMember     Code = 4007
	CodeNoActiveCall       Code = 4008
	CodeRoomInUse          Code = 4009
	CodeNotGroupCall       Code = 4010
	CodeAlreadyInCall      Code = 4011
	CodeGroupExists        Code = 4012
	CodeCallFull           Code = 4013
	CodeMediaTypeUnchanged Code = 4014

	// 5xxx: the client side (engine, CLI).
	CodeNotInitialized    Code = 5001
	CodeServerUnreachable Code = 5002
	CodeRequestTimeout    Code = 5003
	CodeConnectionLost    Code = 5004
	CodeEngineDestroyed   Code = 5005
	CodeNoCurrentCall     Code = 5006
	CodeAudioDevice       Code = 5007
	CodeVideoDevice       Code = 5008

	// --- kit: audio ---
	CodeAIVoice Code = 5011
	// --- kit: control, push ---
	CodeUnknownControlCommand Code = 5013
	CodeNotSupportedYet       Code = 5014
	CodeControlUnavailable    Code = 5015

	// 6xxx: the server.
	CodeInternal           Code = 6001
	CodeStorage            Code = 6002
	CodeShuttingDown       Code = 6003
	CodeMediaTransport     Code = 6004
	CodeStoreUnavailable   Code = 6005
	CodeClusterUnavailable Code = 6006
	// --- route: calls across cluster nodes ---
	CodeOwnerUnreachable Code = 6007

	// 7xxx: a limit of the server was reached; the request is refused and
	// nothing else is disturbed.
	CodeTooManyConnections Code = 7001
	CodeTooManyDevices     Code = 7002
	CodeRateLimited        Code = 7003
	CodeTooManyInvitations Code = 7004
	CodeInvitationTooLarge Code = 7005
)

var codeNames = map[Code]string{
	CodeOK:                 "ok",
	CodeMalformedMessage:   "malformed message",
	CodeUnknownMessageType: "unknown message type",
	CodeMessageTooLarge:    "message too large",
	CodeInvalidArgument:    "invalid argument",
	CodeNotLoggedIn:        "not logged in",
	CodeAlreadyLoggedIn:    "already logged in",
	CodeUnsupportedVersion: "unsupported protocol version",
	CodeBinaryFrame:        "binary frame",
	CodeInvalidUserSig:     "invalid userSig",
	CodeUserSigExpired:     "userSig expired",
	CodeSDKAppIDMismatch:   "sdkAppID mismatch",
	CodeUserSigMismatch:    "userSig is for another user",
	CodeKickedOffline:      "kicked offline",
	CodeNotAdministrator:   "not an administrator",
	CodeOriginNotAllowed:   "origin not allowed",
	CodeInvalidUserID:      "invalid userId",
	CodeInvalidRoomID:      "invalid roomId",
	CodeInvalidMediaType:   "invalid media type",
	CodeInvalidTimeout:     "invalid timeout",
	CodeNicknameTooLong:    "nickname too long",
	CodeInvalidAvatar:      "invalid avatar URL",
	CodeInvalidGroupID:     "invalid groupId",
	CodeInvalidCallID:      "invalid callId",
	CodeUserDataTooLong:    "userData too long",
	CodeInvalidInvitees:    "invalid invitee list",
	CodeCannotCallSelf:     "cannot call yourself",
	CodeInvalidSDKAppID:    "invalid sdkAppID",
	CodeInvalidPushInfo:    "invalid offlinePushInfo",
	CodeTooManyRecordsIDs:  "too many record IDs",
	CodeUnknownUser:        "unknown user",
	CodeNoSuchCall:         "no such call",
	CodeNotInCall:          "not a participant of this call",
	CodeWrongCallState:     "wrong call state",
	CodeSelfBusy:           "already in a call",
	CodeGroupNotFound:      "group not found",
	CodeNotGroupMember:     "not a group member",
	CodeNoActiveCall:       "no active call",
	CodeRoomInUse:          "room in use",
	CodeNotGroupCall:       "not a group call",
	CodeAlreadyInCall:      "user already in this call",
	CodeGroupExists:        "group exists",
	CodeCallFull:           "call is full",
	CodeMediaTypeUnchanged: "media type unchanged",
	CodeNotInitialized:     "engine not initialized",
	CodeServerUnreachable:  "server unreachable",
	CodeRequestTimeout:     "request timed out",
	CodeConnectionLost:     "connection lost",
	CodeEngineDestroyed:    "engine destroyed",
	CodeNoCurrentCall:      "no current call",
	CodeAudioDevice:        "audio device failed",
	CodeVideoDevice:        "video device failed",

	// --- kit: audio ---
	CodeAIVoice: "AI voice unavailable",

	CodeInternal:           "internal error",
	CodeStorage:            "storage error",
	CodeShuttingDown:       "server shutting down",
	CodeMediaTransport:     "media transport failed",
	CodeStoreUnavailable:   "store unavailable",
	CodeClusterUnavailable: "cluster state unavailable",
	// --- route: calls across cluster nodes ---
	CodeOwnerUnreachable:   "call's node unreachable",
	CodeTooManyConnections: "too many connections",
	CodeTooManyDevices:     "too many devices",
	CodeRateLimited:        "too many call attempts",
	CodeTooManyInvitations: "too many pending invitations",
	CodeInvitationTooLarge: "invitation too large",

	// --- kit: control, push ---
	CodeUnknownControlCommand: "unknown control command",
	CodeNotSupportedYet:       "not supported yet",
	CodeControlUnavailable:    "control socket unavailable",
	CodeInvalidPushEndpoint:   "invalid push endpoint",
}

// Codes returns every defined code, for documentation tests.
func Codes() map[Code]string {
	m := make(map[Code]string, len(codeNames))
	for k, v := range codeNames {
		m[k] = v
	}
	return m
}

func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("code %d", int(c))
}

// Error is the error every termcall API returns: a stable code and a message.
// It may carry the lower-layer error that caused it (a store's, a socket's,
// pion's): errors.Is and errors.As reach that cause through Unwrap. The
// cause never goes on the wire: the JSON is the code and the message only.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`

	cause error // what went wrong below; see Unwrap, WithCause
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s (%d)", e.Code, int(e.Code))
	}
	return fmt.Sprintf("%s (%d): %s", e.Code, int(e.Code), e.Message)
}

// Is makes errors.Is(err, &Error{Code: X}) match by code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error) // the target itself, not its chain: errors.Is walks err's
	return ok && t.Code == e.Code
}

// Unwrap returns the error that caused e (nil if none), so errors.Is and
// errors.As see through a protocol error to, say, context.DeadlineExceeded
// or a *pgconn.PgError.
func (e *Error) Unwrap() error { return e.cause }

// WithCause returns a copy of e that carries cause (see Unwrap). The code
// and message are unchanged: the message says what a client may know.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.cause = cause
	return &c
}

// Equal reports whether e and o say the same thing on the wire (code and
// message); the cause is not compared. go-cmp uses it, so tests compare
// replies that carry an *Error as before.
func (e *Error) Equal(o *Error) bool {
	if e == nil || o == nil {
		return e == o
	}
	return e.Code == o.Code && e.Message == o.Message
}

// Errorf builds an *Error. A %w verb in format makes the wrapped error (or
// errors) its cause, as with fmt.Errorf; the message reads the same either way.
func Errorf(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := &Error{Code: code, Message: err.Error()}
	if c := errors.Unwrap(err); c != nil {
		e.cause = c
	} else if errors.As(err, new(interface{ Unwrap() []error })) {
		e.cause = err // several %w: errors.Is walks them all
	}
	return e
}

// CodeOf returns the code carried by err, CodeOK for nil and CodeInternal
// for errors without one.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
