package protocol

import (
	"net/url"
	"strconv"
)

// Limits of the call model, as the TUICallKit reference sets them; the
// error of each is in docs/errors.md.
const (
	MaxUserIDLen    = 32
	MaxGroupIDLen   = 48
	MaxCallIDLen    = 64
	MaxStrRoomLen   = 64
	MaxIntRoomID    = 2147483647
	MaxNicknameLen  = 500
	MaxAvatarLen    = 1024
	MaxUserDataLen  = 4096
	MaxInvitees     = 16 // invitees in one request; a call holds at most MaxParticipants
	MaxParticipants = 32

	DefaultTimeoutSeconds = 30
	MaxTimeoutSeconds     = 600
	// MinTimeoutSeconds is the reference's lowest invitation timeout (its
	// range is 10..600, 0 meaning 30); a server may be set lower
	// (serve.min_invite_timeout) for tests.
	MinTimeoutSeconds = 10
)

func idChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// ValidateUserID checks the reference's userId rule: a-z A-Z 0-9 - _ only,
// 1 to 32 bytes.
func ValidateUserID(id string) error {
	if id == "" {
		return Errorf(CodeInvalidUserID, "userId is empty")
	}
	if len(id) > MaxUserIDLen {
		return Errorf(CodeInvalidUserID, "userId %.40q is longer than %d bytes", id, MaxUserIDLen)
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return Errorf(CodeInvalidUserID, "userId %q has %q; only a-z A-Z 0-9 - _ are allowed", id, id[i])
		}
	}
	return nil
}

// ValidateGroupID checks a group ID: a-z A-Z 0-9 - _ . @, 1 to 48 bytes.
func ValidateGroupID(id string) error {
	if id == "" {
		return Errorf(CodeInvalidGroupID, "groupId is empty")
	}
	if len(id) > MaxGroupIDLen {
		return Errorf(CodeInvalidGroupID, "groupId %.50q is longer than %d bytes", id, MaxGroupIDLen)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !idChar(c) && c != '.' && c != '@' {
			return Errorf(CodeInvalidGroupID, "groupId %q has %q; only a-z A-Z 0-9 - _ . @ are allowed", id, c)
		}
	}
	return nil
}

// ValidateCallID checks the shape of a call ID.
func ValidateCallID(id string) error {
	if id == "" || len(id) > MaxCallIDLen {
		return Errorf(CodeInvalidCallID, "callId must be 1 to %d bytes", MaxCallIDLen)
	}
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return Errorf(CodeInvalidCallID, "callId %q has %q", id, id[i])
		}
	}
	return nil
}

// strRoomChars is the reference's 89-character set for string room IDs.
const strRoomChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$%&()+-:;<=.>?@[]^_{}|~,"

var strRoomOK [256]bool

func init() {
	for i := 0; i < len(strRoomChars); i++ {
		strRoomOK[strRoomChars[i]] = true
	}
}

// RoomID is the reference's RoomId: an integer room (1..2^31-1) or a string
// room (<= 64 bytes from an 89-character set). If both are set the integer
// wins; numeric 123 and string "123" are different rooms.
type RoomID struct {
	IntRoomID uint32 `json:"intRoomId,omitempty"`
	StrRoomID string `json:"strRoomId,omitempty"`
}

// IntRoom returns an integer RoomID.
func IntRoom(n uint32) RoomID { return RoomID{IntRoomID: n} }

// StrRoom returns a string RoomID.
func StrRoom(s string) RoomID { return RoomID{StrRoomID: s} }

// IsZero reports whether neither form is set.
func (r RoomID) IsZero() bool { return r.IntRoomID == 0 && r.StrRoomID == "" }

// Normalize applies "the integer wins": it clears the string when both are set.
func (r RoomID) Normalize() RoomID {
	if r.IntRoomID != 0 {
		return RoomID{IntRoomID: r.IntRoomID}
	}
	return r
}

// Key is a map key that keeps the two namespaces apart.
func (r RoomID) Key() string {
	r = r.Normalize()
	if r.IntRoomID != 0 {
		return "i:" + strconv.FormatUint(uint64(r.IntRoomID), 10)
	}
	return "s:" + r.StrRoomID
}

func (r RoomID) String() string {
	r = r.Normalize()
	if r.IntRoomID != 0 {
		return strconv.FormatUint(uint64(r.IntRoomID), 10)
	}
	return strconv.Quote(r.StrRoomID)
}

// Validate checks the reference's rules. A zero RoomID is valid (the server
// picks a room) unless required is true.
func (r RoomID) Validate(required bool) error {
	r = r.Normalize()
	if r.IsZero() {
		if required {
			return Errorf(CodeInvalidRoomID, "roomId is required")
		}
		return nil
	}
	if r.IntRoomID != 0 {
		if r.IntRoomID > MaxIntRoomID {
			return Errorf(CodeInvalidRoomID, "intRoomId %d is out of range 1..%d", r.IntRoomID, MaxIntRoomID)
		}
		return nil
	}
	if len(r.StrRoomID) > MaxStrRoomLen {
		return Errorf(CodeInvalidRoomID, "strRoomId is longer than %d bytes", MaxStrRoomLen)
	}
	for i := 0; i < len(r.StrRoomID); i++ {
		if !strRoomOK[r.StrRoomID[i]] {
			return Errorf(CodeInvalidRoomID, "strRoomId %q has %q, which is not in the allowed set", r.StrRoomID, r.StrRoomID[i])
		}
	}
	return nil
}

// ValidateNickname checks the 500-byte limit.
func ValidateNickname(s string) error {
	if len(s) > MaxNicknameLen {
		return Errorf(CodeNicknameTooLong, "nickname is %d bytes; at most %d", len(s), MaxNicknameLen)
	}
	return nil
}

// ValidateAvatar checks that a non-empty avatar is an absolute http(s) URL.
func ValidateAvatar(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxAvatarLen {
		return Errorf(CodeInvalidAvatar, "avatar URL is longer than %d bytes", MaxAvatarLen)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Errorf(CodeInvalidAvatar, "avatar %.80q is not an http(s) URL", s)
	}
	return nil
}

// TimeoutSeconds validates a CallParams timeout: 0 means the default 30 s,
// otherwise 1..600 s.
func TimeoutSeconds(t int) (int, error) {
	if t == 0 {
		return DefaultTimeoutSeconds, nil
	}
	if t < 1 || t > MaxTimeoutSeconds {
		return 0, Errorf(CodeInvalidTimeout, "timeout %d s is out of range 1..%d (0 means %d)", t, MaxTimeoutSeconds, DefaultTimeoutSeconds)
	}
	return t, nil
}

// --- kit: offline push ---

// MaxPushURLLen bounds a push endpoint URL.
const MaxPushURLLen = 1024

// ValidatePushEndpoint checks a push endpoint: an absolute http(s) URL of
// at most MaxPushURLLen bytes and a known kind ("" is a webhook). It
// returns the kind to store.
func ValidatePushEndpoint(rawURL, kind string) (string, error) {
	switch kind {
	case "":
		kind = PushWebhook
	case PushWebhook, PushNtfy, PushUnifiedPush:
	default:
		return "", Errorf(CodeInvalidPushEndpoint, "push kind %q; want webhook, ntfy or unifiedpush", kind)
	}
	if len(rawURL) > MaxPushURLLen {
		return "", Errorf(CodeInvalidPushEndpoint, "push URL is longer than %d bytes", MaxPushURLLen)
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return "", Errorf(CodeInvalidPushEndpoint, "push URL %q is not an absolute http(s) URL", rawURL)
	}
	return kind, nil
}

// TimeoutSecondsIn is TimeoutSeconds with a lowest value of min seconds
// (the reference's MinTimeoutSeconds when min is 0).
func TimeoutSecondsIn(t, min int) (int, error) {
	if min <= 0 {
		min = MinTimeoutSeconds
	}
	if t == 0 {
		return DefaultTimeoutSeconds, nil
	}
	if t < min || t > MaxTimeoutSeconds {
		return 0, Errorf(CodeInvalidTimeout, "timeout %d s is out of range %d..%d (0 means %d)", t, min, MaxTimeoutSeconds, DefaultTimeoutSeconds)
	}
	return t, nil
}
