package protocol

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoomIDValidate(t *testing.T) {
	for _, tc := range []struct {
		room     RoomID
		required bool
		code     Code
	}{
		{RoomID{}, false, CodeOK},
		{RoomID{}, true, CodeInvalidRoomID},
		{IntRoom(1), true, CodeOK},
		{IntRoom(MaxIntRoomID), true, CodeOK},
		{IntRoom(MaxIntRoomID + 1), true, CodeInvalidRoomID},
		{StrRoom("a-Z 0_9!#$%&()+-:;<=.>?@[]^_{}|~,"), true, CodeOK},
		{StrRoom(strings.Repeat("x", 64)), true, CodeOK},
		{StrRoom(strings.Repeat("x", 65)), true, CodeInvalidRoomID},
		{StrRoom("slash/"), true, CodeInvalidRoomID},
		{StrRoom("quote\""), true, CodeInvalidRoomID},
		{StrRoom("é"), true, CodeInvalidRoomID},
		{RoomID{IntRoomID: 5, StrRoomID: "bad/but ignored"}, true, CodeOK}, // the integer wins
	} {
		if got := CodeOf(tc.room.Validate(tc.required)); got != tc.code {
			t.Errorf("%+v.Validate(%v): got code %d, want %d", tc.room, tc.required, got, tc.code)
		}
	}
	if IntRoom(123).Key() == StrRoom("123").Key() {
		t.Error("int room 123 and string room \"123\" share a key")
	}
}

func TestValidateUserID(t *testing.T) {
	for id, ok := range map[string]bool{
		"alice": true, "A-b_9": true, strings.Repeat("a", 32): true,
		"": false, strings.Repeat("a", 33): false, "a b": false, "a.b": false, "ü": false, "a@b": false,
	} {
		if got := ValidateUserID(id) == nil; got != ok {
			t.Errorf("ValidateUserID(%q) ok=%v, want %v", id, got, ok)
		}
	}
}

func TestTimeoutSeconds(t *testing.T) {
	for in, want := range map[int]int{0: 30, 1: 1, 600: 600, -1: 0, 601: 0} {
		got, err := TimeoutSeconds(in)
		if got != want || (want == 0) != (err != nil) {
			t.Errorf("TimeoutSeconds(%d) = %d, %v; want %d", in, got, err, want)
		}
	}
}

func TestEnumsRoundTrip(t *testing.T) {
	for r := ReasonUnknown; r <= ReasonEndByServer; r++ {
		b, _ := json.Marshal(r)
		var back EndReason
		if err := json.Unmarshal(b, &back); err != nil || back != r {
			t.Errorf("EndReason %d: %s -> %v, %v", r, b, back, err)
		}
	}
	for _, m := range []MediaType{MediaTypeUnknown, MediaTypeAudio, MediaTypeVideo} {
		if back, err := ParseMediaType(m.String()); err != nil || back != m {
			t.Errorf("MediaType %d: %q -> %v, %v", m, m.String(), back, err)
		}
	}
	for _, r := range []ResultType{ResultMissed, ResultIncoming, ResultOutgoing} {
		if back, err := ParseResultType(r.String()); err != nil || back != r {
			t.Errorf("ResultType %d: %q -> %v, %v", r, r.String(), back, err)
		}
	}
	if _, err := ParseResultType("sideways"); err == nil {
		t.Error("ParseResultType(sideways) succeeded")
	}
}

func TestDecodeLimits(t *testing.T) {
	big := `{"type":"ping","data":{"x":"` + strings.Repeat("a", MaxMessageSize) + `"}}`
	if _, err := Decode([]byte(big)); CodeOf(err) != CodeMessageTooLarge {
		t.Errorf("oversized: got %v", err)
	}
	if _, err := Decode([]byte(`{"id":1}`)); CodeOf(err) != CodeMalformedMessage {
		t.Errorf("no type: got %v", err)
	}
	var req CallIDRequest
	if err := DecodeData([]byte(`{"callId":"x","extra":1}`), &req); CodeOf(err) != CodeMalformedMessage {
		t.Errorf("unknown field: got %v", err)
	}
}

func TestResolutionSize(t *testing.T) {
	for _, tc := range []struct {
		code     int
		portrait bool
		w, h     int
		kbps     int
		ok       bool
	}{
		{108, false, 640, 360, 500, true},
		{62, false, 640, 480, 600, true},
		{114, true, 1080, 1920, 2000, true},
		{0, false, 0, 0, 0, false},
		{63, false, 0, 0, 0, false},
	} {
		w, h, kbps, ok := ResolutionSize(tc.code, tc.portrait)
		if w != tc.w || h != tc.h || kbps != tc.kbps || ok != tc.ok {
			t.Errorf("ResolutionSize(%d, %v) = %d, %d, %d, %v; want %d, %d, %d, %v", tc.code, tc.portrait, w, h, kbps, ok, tc.w, tc.h, tc.kbps, tc.ok)
		}
	}
}

// TestEncodeMatchesMarshal: Encode's hand-written envelope is byte for
// byte what json.Marshal of the Message gives.
func TestEncodeMatchesMarshal(t *testing.T) {
	for _, c := range []struct {
		typ  string
		id   uint64
		data any
	}{
		{TypeReply, 7, CallReply{Call: CallState{CallID: "c<1>&", Participants: []Participant{{UserID: "a"}}}}},
		{TypeEvent, 0, Event{Event: EventCallBegin, Seq: 3, UserData: "\u2028 \"x\""}},
		{TypePong, 12, nil},
		{TypeReply, 0, json.RawMessage(` { "a" : 1 } `)},
		{TypeReply, 1, (*CallReply)(nil)},
		{"odd \"type\"", 5, map[string]int{"x": 1}},
	} {
		got, err := Encode(c.typ, c.id, c.data)
		if err != nil {
			t.Fatal(err)
		}
		m := Message{Type: c.typ, ID: c.id}
		if c.data != nil {
			d, err := json.Marshal(c.data)
			if err != nil {
				t.Fatal(err)
			}
			m.Data = d
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("Encode(%q, %d, %v) (-marshal +encode):\n%s", c.typ, c.id, c.data, diff)
		}
	}
}
