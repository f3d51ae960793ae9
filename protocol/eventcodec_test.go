package protocol

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func eventCases() []Event {
	yes, no := true, false
	room := IntRoom(42)
	sroom, both, none := StrRoom("r-1"), RoomID{IntRoomID: 7, StrRoomID: "x"}, RoomID{}
	return []Event{
		{},
		{Event: EventCallBegin, Seq: 1, Time: 1700000000000, CallID: "c1", RoomID: &room, Scene: SceneSingleCall,
			MediaType: MediaTypeAudio, Role: RoleCaller, UserID: "u0001"},
		{Event: EventCallReceived, Seq: 18446744073709551615, Time: -5, CallID: "c2", RoomID: &sroom, GroupID: "g",
			Scene: SceneGroupCall, MediaType: MediaTypeVideo, OldMediaType: MediaTypeAudio, Role: RoleCalled,
			CallerID: "caller", CalleeIDList: []string{"a", "b"}, UserIDList: []string{}, UserData: `{"k":"v"}`,
			Caller:    &UserInfo{UserID: "caller", Nickname: "Ann <&> \u2028 é", Avatar: "http://x/?a=1&b=2"},
			InviterID: "inv"},
		{Event: EventUserAudioAvailable, RoomID: &both, Available: &yes, UserID: "tab\there"},
		{Event: EventUserVideoAvailable, RoomID: &none, Available: &no, Caller: &UserInfo{}},
		{Event: EventCallEnd, TotalTime: 61, Reason: ReasonHangup, Code: CodeWrongCallState, Message: "quote \" and \\ \x01",
			UserData: "bad utf-8 \xff"},
		{Event: EventCallEnd, Reason: EndReason(99)},
	}
}

// refFrame is the frame encoding/json writes for a message.
func refFrame(t *testing.T, typ string, id uint64, data any) []byte {
	t.Helper()
	d, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(Message{Type: typ, ID: id, Data: d})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncodeEvent: EncodeEvent writes encoding/json's bytes; DecodeEvent reads
// them back through its fast path (for strings without escapes) to what
// json.Unmarshal gives.
func TestEncodeEvent(t *testing.T) {
	for i, ev := range eventCases() {
		want := refFrame(t, TypeEvent, 0, ev)
		got := EncodeEvent(&ev)
		if string(got) != string(want) {
			t.Errorf("case %d: EncodeEvent\n got %s\nwant %s", i, got, want)
		}
		m, err := Decode(got)
		if err != nil {
			t.Fatalf("case %d: Decode: %v", i, err)
		}
		dec, err := DecodeEvent(m.Data)
		var ref Event
		rerr := json.Unmarshal(m.Data, &ref)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("case %d: DecodeEvent error %v, json.Unmarshal %v", i, err, rerr)
		}
		if diff := cmp.Diff(ref, dec); diff != "" {
			t.Errorf("case %d: DecodeEvent differs from json.Unmarshal (-want +got):\n%s", i, diff)
		}
		d := eventDecoder{b: m.Data}
		var fast Event
		plain := !strings.ContainsAny(string(m.Data), `\`) && ev.Reason <= ReasonEndByServer
		if ok := d.event(&fast) && d.i == len(d.b); ok != plain {
			t.Errorf("case %d: fast path taken %v, want %v for %s", i, ok, plain, m.Data)
		}
	}
}

var eventDecodeSeeds = []string{
	`{"event":"onCallBegin","seq":3,"time":17,"callId":"c","roomId":{"intRoomId":4},"scene":0,"userIdList":["a"],"reason":"hangup"}`,
	`{"event":"x","seq":1,"time":1,"scene":0}`,
	`{ "event":"x"}`,
	`{"event":"x"} `,
	`{"Event":"x"}`,
	`{"event":"x","event":"y"}`,
	`{"event":null}`,
	`{"event":"\u0041"}`,
	`{"seq":-1}`,
	`{"seq":1.0}`,
	`{"seq":1e3}`,
	`{"seq":01}`,
	`{"seq":18446744073709551616}`,
	`{"time":-0}`,
	`{"scene":-3}`,
	`{"roomId":{"intRoomId":4294967296}}`,
	`{"roomId":{}}`,
	`{"roomId":null}`,
	`{"roomId":{"intRoomId":1,"intRoomId":2}}`,
	`{"calleeIdList":[]}`,
	`{"calleeIdList":null}`,
	`{"calleeIdList":["a",1]}`,
	`{"caller":{"userId":"a","nickname":"n","avatar":"v"}}`,
	`{"caller":{"userId":"a","extra":1}}`,
	`{"available":true}`,
	`{"available":false,"available":true}`,
	`{"available":tru}`,
	`{"reason":"nope"}`,
	`{"reason":1}`,
	`{"unknown":1}`,
	`{"event":"x",}`,
	`{"event":"x"}}`,
	`{"event":"\xff"}`,
	`{"event":"é"}`,
	`{}`,
	`[]`,
	`null`,
	``,
	`{"event":"a`,
}

// TestDecodeEventLikeUnmarshal: on inputs off the fast path (white space,
// escapes, other keys, duplicates, nulls, bad numbers) DecodeEvent gives
// json.Unmarshal's event and its success or failure.
func TestDecodeEventLikeUnmarshal(t *testing.T) {
	for _, s := range eventDecodeSeeds {
		checkDecodeEvent(t, []byte(s))
	}
}

func checkDecodeEvent(t *testing.T, b []byte) {
	t.Helper()
	got, err := DecodeEvent(b)
	var ref Event
	rerr := json.Unmarshal(b, &ref)
	if (err == nil) != (rerr == nil) {
		t.Fatalf("DecodeEvent(%q): error %v; json.Unmarshal: %v", b, err, rerr)
	}
	if !reflect.DeepEqual(got, ref) {
		t.Fatalf("DecodeEvent(%q) = %+v; json.Unmarshal gives %+v", b, got, ref)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, s := range eventDecodeSeeds {
		f.Add([]byte(s))
	}
	for _, ev := range eventCases() {
		b, _ := json.Marshal(ev)
		f.Add(b)
	}
	f.Fuzz(checkDecodeEvent)
}

func FuzzEncodeEvent(f *testing.F) {
	f.Add("onCallBegin", uint64(1), int64(2), "c", uint32(3), "r", "u", "<&>", 1, 2, int64(60), true)
	f.Fuzz(func(t *testing.T, name string, seq uint64, at int64, callID string, intRoom uint32, strRoom, user, data string,
		media, reason int, total int64, avail bool) {
		room := RoomID{IntRoomID: intRoom, StrRoomID: strRoom}
		ev := Event{Event: name, Seq: seq, Time: at, CallID: callID, RoomID: &room, MediaType: MediaType(media),
			UserID: user, CalleeIDList: []string{user, data}, UserData: data, Caller: &UserInfo{UserID: user, Nickname: data},
			Available: &avail, TotalTime: total, Reason: EndReason(reason), Message: data}
		want := refFrame(t, TypeEvent, 0, ev)
		if got := EncodeEvent(&ev); string(got) != string(want) {
			t.Fatalf("EncodeEvent\n got %s\nwant %s", got, want)
		}
		m, err := Decode(want)
		if err != nil {
			t.Fatal(err)
		}
		checkDecodeEvent(t, m.Data)
	})
}

func BenchmarkEventCodec(b *testing.B) {
	ev := eventCases()[1]
	frame := EncodeEvent(&ev)
	m, _ := Decode(frame)
	b.Run("EncodeEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			EncodeEvent(&ev)
		}
	})
	b.Run("Encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = Encode(TypeEvent, 0, ev)
		}
	})
	b.Run("DecodeEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = DecodeEvent(m.Data)
		}
	})
	b.Run("Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var w Event
			_ = json.Unmarshal(m.Data, &w)
		}
	})
}

func callReplyCases() []CallReply {
	return []CallReply{
		{},
		{Call: CallState{CallID: "c1", RoomID: IntRoom(9), Scene: SceneSingleCall, MediaType: MediaTypeAudio,
			Inviter: "u1", Role: RoleCaller, Status: StatusWaiting,
			Participants: []Participant{{UserID: "u1", Role: RoleCaller, Status: StatusAccept}, {UserID: "u2", Role: RoleCalled, Status: StatusWaiting}}}},
		{Call: CallState{CallID: "c<2>", RoomID: RoomID{IntRoomID: 1, StrRoomID: "s"}, GroupID: "g", UserData: `d\x`,
			Participants: []Participant{}}},
		{Call: CallState{RoomID: StrRoom("é"), Participants: []Participant{{}}}},
	}
}

// TestEncodeCallReply: Encode writes encoding/json's bytes for a
// CallReply; DecodeCallReply reads them as json.Unmarshal does, through
// its fast path when no string needs an escape.
func TestEncodeCallReply(t *testing.T) {
	for i, r := range callReplyCases() {
		got, err := Encode(TypeReply, 7, r)
		if err != nil {
			t.Fatal(err)
		}
		if want := refFrame(t, TypeReply, 7, r); string(got) != string(want) {
			t.Errorf("case %d: Encode\n got %s\nwant %s", i, got, want)
		}
		m, err := Decode(got)
		if err != nil {
			t.Fatal(err)
		}
		checkDecodeCallReply(t, m.Data)
		d := eventDecoder{b: m.Data}
		var fast CallReply
		plain := !strings.ContainsAny(string(m.Data), `\`) && r.Call.Participants != nil
		if ok := d.callReply(&fast) && d.i == len(d.b); ok != plain {
			t.Errorf("case %d: fast path taken %v, want %v for %s", i, ok, plain, m.Data)
		}
	}
}

var callReplySeeds = []string{
	`{"call":{"callId":"c","roomId":{"intRoomId":1},"scene":2,"mediaType":1,"inviter":"a","role":1,"status":1,"participants":[{"userId":"a","role":1,"status":2}]}}`,
	`{"call":{"participants":null}}`,
	`{"call":{"participants":[{"userId":"a"},{"userId":"a","userId":"b"}]}}`,
	`{"call":{"participants":[1]}}`,
	`{"call":{"roomId":{"strRoomId":"x"}},"call":{}}`,
	`{"call":{"status":"1"}}`,
	`{"call":null}`,
	`{"other":1}`,
	`{"call":{"callId":"x"}} `,
	`{}`,
}

func checkDecodeCallReply(t *testing.T, b []byte) {
	t.Helper()
	got, err := DecodeCallReply(b)
	var ref CallReply
	rerr := json.Unmarshal(b, &ref)
	if (err == nil) != (rerr == nil) {
		t.Fatalf("DecodeCallReply(%q): error %v; json.Unmarshal: %v", b, err, rerr)
	}
	if !reflect.DeepEqual(got, ref) {
		t.Fatalf("DecodeCallReply(%q) = %+v; json.Unmarshal gives %+v", b, got, ref)
	}
}

func TestDecodeCallReplyLikeUnmarshal(t *testing.T) {
	for _, s := range callReplySeeds {
		checkDecodeCallReply(t, []byte(s))
	}
}

func FuzzDecodeCallReply(f *testing.F) {
	for _, s := range callReplySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDecodeCallReply)
}

// TestDecodeCallID: DecodeData of a CallIDRequest, fast path or not, is
// the strict decoder's.
func TestDecodeCallID(t *testing.T) {
	for _, s := range []string{`{"callId":"c1"}`, `{}`, `null`, ``, `{"callId":"a\"b"}`, `{"CallId":"c"}`,
		`{"callId":"a","callId":"b"}`, `{"callId":1}`, `{"callId":"c","x":1}`, `{"callId":"c"} `, `{"callId":"c"}x`,
		`{"callId":"é"}`, `{"callId":"\xff"}`} {
		var got CallIDRequest
		err := DecodeData(json.RawMessage(s), &got)
		var ref CallIDRequest
		rerr := strictDecode(s, &ref)
		if (err == nil) != (rerr == nil) || got != ref {
			t.Errorf("DecodeData(%q) = %+v, %v; the strict decoder gives %+v, %v", s, got, err, ref, rerr)
		}
	}
	var r CallIDRequest
	if !decodeCallID([]byte(`{"callId":"c1"}`), &r) || r.CallID != "c1" {
		t.Errorf("the fast path did not take {\"callId\":\"c1\"}: %+v", r)
	}
}

// strictDecode is DecodeData without its fast path.
func strictDecode(s string, v any) error {
	if s == "" || s == "null" {
		s = "{}"
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing content")
	}
	if _, err := dec.Token(); err == nil {
		return errors.New("trailing content")
	}
	return nil
}
