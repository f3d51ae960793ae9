// Package protocol defines the wire messages between the termcall engine and
// the termcall server: JSON envelopes over one WebSocket per device.
//
// Every frame is one Message. A client request carries a type and an id; the
// server answers with a "reply" of the same id, carrying data or an error.
// The server pushes "event" messages (the TUICallObserver callbacks, computed
// per recipient by the server) and answers "ping" with "pong". Each event
// carries a per-device sequence number so that a device that reconnects can
// have the events it missed replayed. See docs/protocol.md.
package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Version is the protocol version a client announces in its login.
const Version = 1

// MaxMessageSize is the largest frame either side accepts.
const MaxMessageSize = 64 << 10

// Message types sent by clients.
const (
	TypeLogin             = "login"
	TypeRenewSig          = "renewSig"
	TypeLogout            = "logout"
	TypeCall              = "call"
	TypeGroupCall         = "groupCall"
	TypeAccept            = "accept"
	TypeReject            = "reject"
	TypeHangup            = "hangup"
	TypeIgnore            = "ignore"
	TypeInviteUser        = "inviteUser"
	TypeJoinInGroupCall   = "joinInGroupCall"
	TypeJoin              = "join"
	TypeSwitchMediaType   = "switchCallMediaType"
	TypeSetSelfInfo       = "setSelfInfo"
	TypeEnableMultiDevice = "enableMultiDevice"
	TypeQueryRecentCalls  = "queryRecentCalls"
	TypeDeleteRecordCalls = "deleteRecordCalls"
	TypePing              = "ping"

	// --- kit: offline push (push.go) ---
	TypeRegisterPush   = "registerPush"
	TypeUnregisterPush = "unregisterPush"
	TypeListPush       = "listPush"
)

// Message types sent by the server.
const (
	TypeReply = "reply"
	TypeEvent = "event"
	TypePong  = "pong"
)

// Message is the envelope of every frame.
type Message struct {
	Type  string          `json:"type"`
	ID    uint64          `json:"id,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	Error *Error          `json:"error,omitempty"`
}

// Decode parses one frame, enforcing the size limit and the envelope shape.
func Decode(b []byte) (*Message, error) {
	if len(b) > MaxMessageSize {
		return nil, Errorf(CodeMessageTooLarge, "message is %d bytes; at most %d", len(b), MaxMessageSize)
	}
	if m := decodeCompact(b); m != nil {
		return m, nil
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, Errorf(CodeMalformedMessage, "not a JSON message: %w", err)
	}
	if m.Type == "" {
		return nil, Errorf(CodeMalformedMessage, "message has no type")
	}
	return &m, nil
}

// decodeCompact is Decode's fast path for the frames Encode writes (and
// most clients send): exactly {"type":"T"[,"id":N][,"data":V]} with no
// white space, a plain type, a decimal id and valid JSON data that is not
// null. It scans the data once (json.Valid) where json.Unmarshal of the
// envelope scans it twice and copies it; Data is then a sub-slice of b.
// Anything else (other keys or order, white space, escapes, an error
// member, bad JSON) returns nil and takes the general path, so that the
// result and the errors are json.Unmarshal's.
func decodeCompact(b []byte) *Message {
	typ, rest, ok := compactType(b)
	if !ok {
		return nil
	}
	m := &Message{Type: typ}
	if m.ID, rest, ok = compactID(rest); !ok {
		return nil
	}
	if m.Data, ok = compactData(rest); !ok {
		return nil
	}
	return m
}

// compactType splits {"type":"T"...} into T, a plain name, and what follows
// its closing quote up to the final brace (exclusive).
func compactType(b []byte) (typ string, rest []byte, ok bool) {
	const head = `{"type":"`
	if len(b) < len(head)+2 || string(b[:len(head)]) != head || b[len(b)-1] != '}' {
		return "", nil, false
	}
	end := bytes.IndexByte(b[len(head):], '"')
	if end <= 0 || !plainName(string(b[len(head):len(head)+end])) {
		return "", nil, false
	}
	j := len(head) + end
	if j >= len(b)-1 {
		return "", nil, false
	}
	return string(b[len(head):j]), b[j+1 : len(b)-1], true
}

// compactID takes an optional ,"id":N (decimal, no leading zero) off rest.
func compactID(rest []byte) (id uint64, after []byte, ok bool) {
	const idKey = `,"id":`
	if len(rest) < len(idKey) || string(rest[:len(idKey)]) != idKey {
		return 0, rest, true
	}
	rest = rest[len(idKey):]
	k := 0
	for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
		k++
	}
	if k == 0 || (k > 1 && rest[0] == '0') {
		return 0, nil, false
	}
	id, err := strconv.ParseUint(string(rest[:k]), 10, 64)
	return id, rest[k:], err == nil
}

// compactData takes an optional ,"data":V, the whole of rest, where V is
// valid JSON and not null (nor padded with white space).
func compactData(rest []byte) (json.RawMessage, bool) {
	if len(rest) == 0 {
		return nil, true
	}
	const dataKey = `,"data":`
	if len(rest) <= len(dataKey) || string(rest[:len(dataKey)]) != dataKey {
		return nil, false
	}
	v := rest[len(dataKey):]
	if !strings.ContainsRune(`{["-0123456789tf`, rune(v[0])) || isSpace(v[len(v)-1]) || !json.Valid(v) {
		return nil, false
	}
	return v, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// DecodeData parses a message's data into v, rejecting unknown fields.
func DecodeData(raw json.RawMessage, v any) error {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	if r, ok := v.(*CallIDRequest); ok && decodeCallID(raw, r) { // eventcodec.go
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Errorf(CodeMalformedMessage, "bad data: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(CodeMalformedMessage, "bad data: trailing content")
	}
	return nil
}

// ProbeID returns the id of a frame that Decode rejected, when it has one,
// so that the error reply still reaches the request that caused it.
func ProbeID(b []byte) uint64 {
	var probe struct {
		ID json.RawMessage `json:"id"`
	}
	if len(b) > MaxMessageSize || json.Unmarshal(b, &probe) != nil {
		return 0
	}
	var id uint64
	if json.Unmarshal(probe.ID, &id) != nil {
		return 0
	}
	return id
}

// Encode builds a frame. The envelope is written by hand around the
// marshalled data (the same bytes json.Marshal of a Message gives, without
// scanning the data a second time).
func Encode(typ string, id uint64, data any) ([]byte, error) {
	var d []byte
	if r, ok := data.(CallReply); ok {
		d = appendCallReply(make([]byte, 0, 256), &r) // eventcodec.go
	} else if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, err
		}
		d = b
	}
	if !plainName(typ) {
		return json.Marshal(Message{Type: typ, ID: id, Data: d})
	}
	b := make([]byte, 0, len(d)+len(typ)+36)
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, '"')
	if id != 0 {
		b = append(b, `,"id":`...)
		b = strconv.AppendUint(b, id, 10)
	}
	if len(d) > 0 {
		b = append(b, `,"data":`...)
		b = append(b, d...)
	}
	return append(b, '}'), nil
}

// plainName reports whether s needs no escaping in a JSON string.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// EncodeError builds an error reply.
func EncodeError(id uint64, e *Error) []byte {
	b, _ := json.Marshal(Message{Type: TypeReply, ID: id, Error: e})
	return b
}

// LoginRequest authenticates a device. DeviceID identifies this device across
// reconnects; a login with the DeviceID of a device still within its grace
// period resumes it and replays the events after LastSeq.
type LoginRequest struct {
	Version     int    `json:"version"`
	SDKAppID    uint64 `json:"sdkAppId"`
	UserID      string `json:"userId"`
	UserSig     string `json:"userSig"`
	DeviceID    string `json:"deviceId"`
	MultiDevice bool   `json:"multiDevice,omitempty"`
	LastSeq     uint64 `json:"lastSeq,omitempty"`
}

// LoginReply answers a login.
type LoginReply struct {
	UserID      string      `json:"userId"`
	DeviceID    string      `json:"deviceId"`
	Resumed     bool        `json:"resumed"`
	ServerTime  int64       `json:"serverTime"`  // unix ms
	SigExpireAt int64       `json:"sigExpireAt"` // unix s
	Calls       []CallState `json:"calls"`       // calls this device takes part in, for reconciliation
}

// RenewSigRequest replaces the session's userSig without dropping calls.
type RenewSigRequest struct {
	UserSig string `json:"userSig"`
}

// RenewSigReply answers renewSig.
type RenewSigReply struct {
	SigExpireAt int64 `json:"sigExpireAt"` // unix s
}

// OfflinePushInfo is the reference's push configuration (every field of
// every platform). The server keeps it with the invitation and, when an
// invitee has no device online, sends it with the push (server/push.go);
// Defaults gives the reference's defaults for what is left out.
type OfflinePushInfo struct {
	Title string `json:"title,omitempty"`
	// Desc is the native name of the body; Description the W/MP/U one.
	// Either may be used; Defaults copies one to the other.
	Desc                 string `json:"desc,omitempty"`
	Description          string `json:"description,omitempty"`
	IgnoreIOSBadge       bool   `json:"ignoreIOSBadge,omitempty"`
	IOSSound             string `json:"iOSSound,omitempty"`
	AndroidSound         string `json:"androidSound,omitempty"`
	AndroidOPPOChannelID string `json:"androidOPPOChannelID,omitempty"`
	// AndroidVIVOClassification: 0 operational, 1 system message; nil
	// means the reference's default, 1.
	AndroidVIVOClassification *int   `json:"androidVIVOClassification,omitempty"`
	AndroidXiaoMiChannelID    string `json:"androidXiaoMiChannelID,omitempty"`
	AndroidFCMChannelID       string `json:"androidFCMChannelID,omitempty"`
	AndroidHuaWeiCategory     string `json:"androidHuaWeiCategory,omitempty"`
	IsDisablePush             bool   `json:"isDisablePush,omitempty"`
	// IOSPushType: 0 APNs (the default), 1 VoIP.
	IOSPushType int `json:"iOSPushType,omitempty"`
	// Extension is pass-through data (the Web Kit's JSON string, e.g.
	// {"timPushFeatures":{"fcmPushType":0}}), handed on unchanged.
	Extension string `json:"extension,omitempty"`
}

// Defaults returns the info with the reference's defaults filled in: an
// androidVIVOClassification of 1, desc and description the same, and
// title and desc from the fallbacks when empty. A nil info is all
// defaults.
func (p *OfflinePushInfo) Defaults(title, desc string) OfflinePushInfo {
	var o OfflinePushInfo
	if p != nil {
		o = *p
	}
	if o.AndroidVIVOClassification == nil {
		one := 1
		o.AndroidVIVOClassification = &one
	}
	if o.Desc == "" {
		o.Desc = o.Description
	}
	if o.Desc == "" {
		o.Desc = desc
	}
	if o.Description == "" {
		o.Description = o.Desc
	}
	if o.Title == "" {
		o.Title = title
	}
	return o
}

// --- kit: offline push (push.go) ---

// Push endpoint kinds (registerPush).
const (
	// PushWebhook: an HTTP POST of the push as JSON, HMAC-signed.
	PushWebhook = "webhook"
	// PushNtfy: the ntfy publish format (text body, Title/Priority/Tags
	// headers) to a topic URL.
	PushNtfy = "ntfy"
	// PushUnifiedPush: the push as JSON in the body of a POST to a
	// UnifiedPush endpoint (the app gets the body as is).
	PushUnifiedPush = "unifiedpush"
)

// RegisterPushRequest registers a push endpoint for the logged-in user;
// Kind "" is PushWebhook. The reply is a PushEndpointsReply.
type RegisterPushRequest struct {
	URL  string `json:"url"`
	Kind string `json:"kind,omitempty"`
}

// UnregisterPushRequest removes one endpoint, or all when URL is empty.
// The reply is a PushEndpointsReply.
type UnregisterPushRequest struct {
	URL string `json:"url,omitempty"`
}

// PushEndpoint is one registered endpoint.
type PushEndpoint struct {
	URL       string `json:"url"`
	Kind      string `json:"kind"`
	CreatedAt int64  `json:"createdAt"` // unix ms
}

// PushEndpointsReply lists the user's endpoints after the request, newest
// first.
type PushEndpointsReply struct {
	Endpoints []PushEndpoint `json:"endpoints"`
}

// CallParams are the reference's CallParams.
type CallParams struct {
	RoomID          RoomID           `json:"roomId"`
	Timeout         int              `json:"timeout,omitempty"` // seconds; 0 = 30
	UserData        string           `json:"userData,omitempty"`
	OfflinePushInfo *OfflinePushInfo `json:"offlinePushInfo,omitempty"`
}

// CallRequest starts a 1v1 call (type "call", one user in UserIDs) or a
// group call (type "groupCall", with GroupID).
type CallRequest struct {
	UserIDs   []string   `json:"userIds"`
	GroupID   string     `json:"groupId,omitempty"`
	MediaType MediaType  `json:"mediaType"`
	Params    CallParams `json:"params"`
}

// CallReply answers call, groupCall, join and joinInGroupCall.
type CallReply struct {
	Call CallState `json:"call"`
}

// CallIDRequest names the call acted on (accept, reject, hangup, ignore, join).
type CallIDRequest struct {
	CallID string `json:"callId"`
}

// InviteUserRequest invites more users into a running group call.
type InviteUserRequest struct {
	CallID  string     `json:"callId"`
	UserIDs []string   `json:"userIds"`
	Params  CallParams `json:"params"`
}

// InviteUserReply lists who was invited.
type InviteUserReply struct {
	UserIDs []string `json:"userIds"`
}

// JoinInGroupCallRequest joins a group's running call by room.
type JoinInGroupCallRequest struct {
	RoomID    RoomID    `json:"roomId"`
	GroupID   string    `json:"groupId"`
	MediaType MediaType `json:"mediaType"`
}

// SwitchMediaTypeRequest changes a call's media type.
type SwitchMediaTypeRequest struct {
	CallID    string    `json:"callId"`
	MediaType MediaType `json:"mediaType"`
}

// SetSelfInfoRequest sets the user's profile.
type SetSelfInfoRequest struct {
	Nickname string `json:"nickname"`
	Avatar   string `json:"avatar"`
}

// EnableMultiDeviceRequest switches multi-device mode for this device.
type EnableMultiDeviceRequest struct {
	Enable bool `json:"enable"`
}

// RecentCallsFilter is the reference's TUICallRecentCallsFilter (times in
// unix seconds; zero means unbounded).
type RecentCallsFilter struct {
	Begin  int64      `json:"begin,omitempty"`
	End    int64      `json:"end,omitempty"`
	Result ResultType `json:"resultType,omitempty"`
	Limit  int        `json:"limit,omitempty"`
}

// CallRecord is the reference's TUICallRecords, plus the end reason.
type CallRecord struct {
	CallID      string     `json:"callId"`
	UserID      string     `json:"userId,omitempty"` // whose record (admin listings)
	Inviter     string     `json:"inviter"`
	InviteList  []string   `json:"inviteList"`
	Scene       Scene      `json:"scene"`
	MediaType   MediaType  `json:"mediaType"`
	GroupID     string     `json:"groupId"`
	RoomID      RoomID     `json:"roomId"`
	Role        Role       `json:"role"`
	Result      ResultType `json:"result"`
	BeginTime   int64      `json:"beginTime"` // unix s, when the call was placed
	TotalTime   int64      `json:"totalTime"` // seconds this user was connected
	EndReason   EndReason  `json:"endReason"`
	Live        bool       `json:"live,omitempty"`        // the call is still going on
	ConnectedAt int64      `json:"connectedAt,omitempty"` // unix s when this user connected; 0 = never
}

// RecordsReply answers queryRecentCalls.
type RecordsReply struct {
	Records []CallRecord `json:"records"`
}

// DeleteRecordCallsRequest hides records for the requesting user.
type DeleteRecordCallsRequest struct {
	CallIDs []string `json:"callIds"`
}

// DeleteRecordCallsReply lists what was hidden.
type DeleteRecordCallsReply struct {
	Deleted []string `json:"deleted"`
}

// Participant is one user's place in a call.
type Participant struct {
	UserID string `json:"userId"`
	Role   Role   `json:"role"`
	Status Status `json:"status"`
}

// CallState describes a call as seen by one device.
type CallState struct {
	CallID       string        `json:"callId"`
	RoomID       RoomID        `json:"roomId"`
	GroupID      string        `json:"groupId,omitempty"`
	Scene        Scene         `json:"scene"`
	MediaType    MediaType     `json:"mediaType"`
	Inviter      string        `json:"inviter"`
	Role         Role          `json:"role"`
	Status       Status        `json:"status"`
	UserData     string        `json:"userData,omitempty"`
	Participants []Participant `json:"participants"`
}

// Event names: the TUICallObserver callbacks, plus termcall's newer ones.
const (
	EventError                    = "onError"
	EventCallReceived             = "onCallReceived"
	EventCallCancelled            = "onCallCancelled"
	EventCallBegin                = "onCallBegin"
	EventCallEnd                  = "onCallEnd"
	EventCallMediaTypeChanged     = "onCallMediaTypeChanged"
	EventUserReject               = "onUserReject"
	EventUserNoResponse           = "onUserNoResponse"
	EventUserLineBusy             = "onUserLineBusy"
	EventUserJoin                 = "onUserJoin"
	EventUserLeave                = "onUserLeave"
	EventUserVideoAvailable       = "onUserVideoAvailable"
	EventUserAudioAvailable       = "onUserAudioAvailable"
	EventUserVoiceVolumeChanged   = "onUserVoiceVolumeChanged"
	EventUserNetworkQualityChange = "onUserNetworkQualityChanged"
	EventKickedOffline            = "onKickedOffline"
	EventUserSigExpired           = "onUserSigExpired"
	EventInviteeListUpdate        = "onGroupCallInviteeListUpdate"

	// --- kit: match the reference ---
	// EventCallMissed tells a user who is busy in a call that someone
	// called (the caller got onUserLineBusy), at once.
	EventCallMissed = "onCallMissed"
)

// UserInfo is a user's profile as shown to others.
type UserInfo struct {
	UserID   string `json:"userId"`
	Nickname string `json:"nickname,omitempty"`
	Avatar   string `json:"avatar,omitempty"`
}

// Event is the data of an "event" message: one flat struct for all
// events, each using the fields it needs.
type Event struct {
	Event string `json:"event"`
	Seq   uint64 `json:"seq"`
	Time  int64  `json:"time"` // unix ms at the server

	CallID       string    `json:"callId,omitempty"`
	RoomID       *RoomID   `json:"roomId,omitempty"`
	GroupID      string    `json:"groupId,omitempty"`
	Scene        Scene     `json:"scene"`
	MediaType    MediaType `json:"mediaType,omitempty"`
	OldMediaType MediaType `json:"oldMediaType,omitempty"`
	Role         Role      `json:"role,omitempty"`

	UserID       string    `json:"userId,omitempty"`
	CallerID     string    `json:"callerId,omitempty"`
	CalleeIDList []string  `json:"calleeIdList,omitempty"`
	UserIDList   []string  `json:"userIdList,omitempty"`
	UserData     string    `json:"userData,omitempty"`
	Caller       *UserInfo `json:"caller,omitempty"`

	Available *bool `json:"available,omitempty"` // onUserAudioAvailable, onUserVideoAvailable

	TotalTime int64     `json:"totalTime,omitempty"` // seconds
	Reason    EndReason `json:"reason,omitempty"`

	Code    Code   `json:"code,omitempty"`
	Message string `json:"message,omitempty"`

	// --- kit: match the reference ---
	// InviterID, in onCallReceived, is who invited this user when that
	// is not the caller (inviteUser by another participant).
	InviterID string `json:"inviterId,omitempty"`
}
