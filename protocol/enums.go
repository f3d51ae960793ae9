package protocol

import (
	"fmt"
	"strconv"
)

// MediaType is the kind of media of a call. Values are the reference's.
type MediaType int

// MediaType values.
const (
	MediaTypeUnknown MediaType = 0
	MediaTypeAudio   MediaType = 1
	MediaTypeVideo   MediaType = 2
)

func (m MediaType) String() string {
	switch m {
	case MediaTypeAudio:
		return "audio"
	case MediaTypeVideo:
		return "video"
	}
	return "unknown"
}

// Valid reports whether m is audio or video.
func (m MediaType) Valid() bool { return m == MediaTypeAudio || m == MediaTypeVideo }

// ParseMediaType parses "audio", "video" or their numbers.
func ParseMediaType(s string) (MediaType, error) {
	switch s {
	case "audio", "1":
		return MediaTypeAudio, nil
	case "video", "2":
		return MediaTypeVideo, nil
	case "unknown", "0":
		return MediaTypeUnknown, nil
	}
	return MediaTypeUnknown, fmt.Errorf("unknown media type %q", s)
}

// Role is a participant's role in a call.
type Role int

// Role values.
const (
	RoleNone   Role = 0
	RoleCaller Role = 1
	RoleCalled Role = 2
)

func (r Role) String() string {
	switch r {
	case RoleCaller:
		return "caller"
	case RoleCalled:
		return "called"
	}
	return "none"
}

// Status is a user's call status.
type Status int

// Status values.
const (
	StatusNone    Status = 0
	StatusWaiting Status = 1
	StatusAccept  Status = 2
)

func (s Status) String() string {
	switch s {
	case StatusWaiting:
		return "waiting"
	case StatusAccept:
		return "accept"
	}
	return "none"
}

// Scene is the kind of call. Values are the reference's.
type Scene int

// Scene values.
const (
	SceneGroupCall  Scene = 0
	SceneMultiCall  Scene = 1 // listed by the reference as not yet supported
	SceneSingleCall Scene = 2
)

func (s Scene) String() string {
	switch s {
	case SceneGroupCall:
		return "group"
	case SceneMultiCall:
		return "multi"
	case SceneSingleCall:
		return "single"
	}
	return "scene(" + strconv.Itoa(int(s)) + ")"
}

// ResultType classifies a call record from one participant's view.
type ResultType int

// ResultType values.
const (
	ResultUnknown  ResultType = 0
	ResultMissed   ResultType = 1
	ResultIncoming ResultType = 2
	ResultOutgoing ResultType = 3
)

func (r ResultType) String() string {
	switch r {
	case ResultMissed:
		return "missed"
	case ResultIncoming:
		return "incoming"
	case ResultOutgoing:
		return "outgoing"
	}
	return "unknown"
}

// ParseResultType parses "missed", "incoming", "outgoing", "unknown" or "".
func ParseResultType(s string) (ResultType, error) {
	switch s {
	case "missed":
		return ResultMissed, nil
	case "incoming":
		return ResultIncoming, nil
	case "outgoing":
		return ResultOutgoing, nil
	case "", "unknown", "all":
		return ResultUnknown, nil
	}
	return ResultUnknown, fmt.Errorf("unknown result type %q (want missed, incoming or outgoing)", s)
}

// EndReason says why a call ended or was never connected (TUICallKit's newer
// CallEndReason / onCallNotConnected reasons). termcall's numbering.
type EndReason int

// EndReason values.
const (
	ReasonUnknown             EndReason = 0
	ReasonHangup              EndReason = 1
	ReasonReject              EndReason = 2
	ReasonNoResponse          EndReason = 3
	ReasonOffline             EndReason = 4
	ReasonLineBusy            EndReason = 5
	ReasonCanceled            EndReason = 6
	ReasonOtherDeviceAccepted EndReason = 7
	ReasonOtherDeviceReject   EndReason = 8
	ReasonEndByServer         EndReason = 9
)

var reasonNames = [...]string{"unknown", "hangup", "reject", "noResponse", "offline", "lineBusy",
	"canceled", "otherDeviceAccepted", "otherDeviceReject", "endByServer"}

func (r EndReason) String() string {
	if r >= 0 && int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// ParseEndReason is the inverse of EndReason.String.
func ParseEndReason(s string) (EndReason, error) {
	for i, n := range reasonNames {
		if n == s {
			return EndReason(i), nil
		}
	}
	return ReasonUnknown, fmt.Errorf("unknown end reason %q", s)
}

// MarshalText writes the reason's name, so JSON carries "hangup", not 1.
func (r EndReason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses a reason name.
func (r *EndReason) UnmarshalText(b []byte) error {
	v, err := ParseEndReason(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
