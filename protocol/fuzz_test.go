package protocol_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/protocol"
)

// requestTypes maps every client message type to a constructor of the value
// its data decodes into. Ping and logout carry no data; they are decoded
// into an empty struct, which accepts only {} or null.
var requestTypes = map[string]func() any{
	protocol.TypeLogin:             func() any { return new(protocol.LoginRequest) },
	protocol.TypeRenewSig:          func() any { return new(protocol.RenewSigRequest) },
	protocol.TypeLogout:            func() any { return new(struct{}) },
	protocol.TypeCall:              func() any { return new(protocol.CallRequest) },
	protocol.TypeGroupCall:         func() any { return new(protocol.CallRequest) },
	protocol.TypeAccept:            func() any { return new(protocol.CallIDRequest) },
	protocol.TypeReject:            func() any { return new(protocol.CallIDRequest) },
	protocol.TypeHangup:            func() any { return new(protocol.CallIDRequest) },
	protocol.TypeIgnore:            func() any { return new(protocol.CallIDRequest) },
	protocol.TypeInviteUser:        func() any { return new(protocol.InviteUserRequest) },
	protocol.TypeJoinInGroupCall:   func() any { return new(protocol.JoinInGroupCallRequest) },
	protocol.TypeJoin:              func() any { return new(protocol.CallIDRequest) },
	protocol.TypeSwitchMediaType:   func() any { return new(protocol.SwitchMediaTypeRequest) },
	protocol.TypeSetSelfInfo:       func() any { return new(protocol.SetSelfInfoRequest) },
	protocol.TypeEnableMultiDevice: func() any { return new(protocol.EnableMultiDeviceRequest) },
	protocol.TypeQueryRecentCalls:  func() any { return new(protocol.RecentCallsFilter) },
	protocol.TypeDeleteRecordCalls: func() any { return new(protocol.DeleteRecordCallsRequest) },
	protocol.TypePing:              func() any { return new(struct{}) },
	// What the server sends, as a client would decode it.
	protocol.TypeReply + "/login": func() any { return new(protocol.LoginReply) },
	protocol.TypeReply + "/call":  func() any { return new(protocol.CallReply) },
	protocol.TypeReply + "/recs":  func() any { return new(protocol.RecordsReply) },
	protocol.TypeEvent:            func() any { return new(protocol.Event) },
}

// fuzzSeeds are valid frames of every type and malformed ones.
var fuzzSeeds = []string{
	// Valid requests.
	`{"type":"login","id":1,"data":{"version":1,"sdkAppId":1400000001,"userId":"alice","userSig":"eJyrVkrOzFGyUkpJzMnPS1eqBQA1KwWO","deviceId":"dev-1","multiDevice":true,"lastSeq":7}}`,
	`{"type":"renewSig","id":2,"data":{"userSig":"abc"}}`,
	`{"type":"logout","id":3}`,
	`{"type":"call","id":4,"data":{"userIds":["bob"],"mediaType":1,"params":{"roomId":{"intRoomId":123},"timeout":30,"userData":"hi"}}}`,
	`{"type":"call","id":4,"data":{"userIds":["bob"],"mediaType":2,"params":{"roomId":{"strRoomId":"team room #1"},"offlinePushInfo":{"title":"t","desc":"d","ignoreIOSBadge":true,"iOSPushType":1,"androidVIVOClassification":1}}}}`,
	`{"type":"groupCall","id":5,"data":{"userIds":["bob","carol"],"groupId":"g1","mediaType":2,"params":{"roomId":{}}}}`,
	`{"type":"accept","id":6,"data":{"callId":"0123456789abcdef0123"}}`,
	`{"type":"reject","id":7,"data":{"callId":"0123456789abcdef0123"}}`,
	`{"type":"hangup","id":8,"data":{"callId":"0123456789abcdef0123"}}`,
	`{"type":"ignore","id":9,"data":{"callId":"0123456789abcdef0123"}}`,
	`{"type":"inviteUser","id":10,"data":{"callId":"c1","userIds":["dave"],"params":{"roomId":{},"timeout":60}}}`,
	`{"type":"joinInGroupCall","id":11,"data":{"roomId":{"intRoomId":7},"groupId":"g1","mediaType":1}}`,
	`{"type":"join","id":12,"data":{"callId":"c1"}}`,
	`{"type":"switchCallMediaType","id":13,"data":{"callId":"c1","mediaType":2}}`,
	`{"type":"setSelfInfo","id":14,"data":{"nickname":"Alice","avatar":"https://example.org/a.png"}}`,
	`{"type":"enableMultiDevice","id":15,"data":{"enable":true}}`,
	`{"type":"queryRecentCalls","id":16,"data":{"begin":1,"end":2,"resultType":1,"limit":10}}`,
	`{"type":"deleteRecordCalls","id":17,"data":{"callIds":["c1","c2"]}}`,
	`{"type":"ping","id":18}`,
	`{"type":"ping"}`,
	`{"type":"ping","id":18,"data":null}`,
	// What the server sends.
	`{"type":"pong","id":18}`,
	`{"type":"reply","id":1,"data":{"userId":"alice","deviceId":"d","resumed":false,"serverTime":1,"sigExpireAt":2,"calls":[]}}`,
	`{"type":"reply","id":4,"error":{"code":4005,"message":"already in a call"}}`,
	`{"type":"event","data":{"event":"onCallEnd","seq":3,"time":1,"callId":"c1","roomId":{"intRoomId":1},"scene":2,"reason":"hangup","totalTime":5}}`,
	`{"type":"event","data":{"event":"onCallReceived","seq":1,"callId":"c","caller":{"userId":"a"},"calleeIdList":["b"]}}`,
	// Malformed.
	``,
	`{`,
	`{"type":"call","id":4,"data":{"userIds":["bob"],"mediaType":1,"par`,
	`null`,
	`[]`,
	`"call"`,
	`{}`,
	`{"type":""}`,
	`{"type":null,"id":1}`,
	`{"type":1}`,
	`{"type":"call","id":-1}`,
	`{"type":"call","id":1.5}`,
	`{"type":"call","id":18446744073709551616}`,
	`{"type":"call","id":1e400}`,
	`{"type":"call","id":"1"}`,
	`{"type":"call","id":1,"data":{"userIds":"bob","mediaType":1}}`,
	`{"type":"call","id":1,"data":{"userIds":[1,2],"mediaType":"audio"}}`,
	`{"type":"call","id":1,"data":{"userIds":["bob"],"mediaType":99999999999999999999999}}`,
	`{"type":"call","id":1,"data":{"userIds":["bob"],"mediaType":1,"params":{"roomId":{"intRoomId":4294967296}}}}`,
	`{"type":"call","id":1,"data":{"userIds":["bob"],"mediaType":1,"params":{"roomId":{"intRoomId":-1}}}}`,
	`{"type":"call","id":1,"data":{"userIds":["bob"],"mediaType":1,"params":[]}}`,
	`{"type":"call","id":1,"data":{"userIds":["bob"],"mediaType":1,"surprise":true}}`,
	`{"type":"call","id":1,"data":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`{"type":"call","id":1,"data":{"a":{"b":{"c":{"d":{"e":{"f":[{"g":null}]}}}}}}}`,
	`{"type":"call","id":1,"data":"\ud800"}`,
	`{"type":"call","id":1,"data":{"userIds":["\u0000","` + "\xff\xfe" + `"],"mediaType":1}}`,
	`{"type":"queryRecentCalls","id":1,"data":{"resultType":"missed"}}`,
	`{"type":"queryRecentCalls","id":1,"data":{"begin":9223372036854775808}}`,
	`{"type":"enableMultiDevice","id":1,"data":{"enable":"yes"}}`,
	`{"type":"event","data":{"event":"onCallEnd","reason":"nonsense"}}`,
	`{"type":"event","data":{"event":"onCallEnd","reason":3}}`,
	`{"type":"reply","id":1,"error":{"code":"x"}}`,
	`{"type":"reply","id":1,"error":"boom"}`,
	`{"type":"ping","id":1} trailing`,
	`{"type":"ping","id":1}{"type":"ping","id":2}`,
	`{"type":"ping","type":"call","id":1,"ID":2}`,
	`{"TYPE":"ping","Id":3}`,
	"{\"type\":\"ping\",\"id\":1,\"data\":{} \n}",
	`{"type":"ping","id":1,"data":{"x":1}}`,
	`{"type":"ping","id":1,"data":{}}]`,
	`{"type":"\u003cscript\u003e","data":"<&>"}`,
	`{"type":"login","id":1,"data":{"version":1,"sdkAppId":-5}}`,
	`{"type":"login","id":1,"data":{"version":1.0}}`,
	`{"type":"ping","id":007}`,
	`{"type":"ping","id":18446744073709551616}`,
	`{"type":"media","id":3,"data": {"kind":"state"} }`,
	`{"type":"media","id":3,"data":{"kind":"state"},"id":4}`,
	`{"type":"media","data":null}`,
	`{"type":"a\u0062","id":1}`,
	`{"type":"x","id":1,"data":"str"}`,
	`{"type":"x","id":1,"data":[1,2}`,
	`{"type":"x","id":1,"data":{"a":"\ud800"}}`,
	"\xef\xbb\xbf{\"type\":\"ping\"}",
	strings.Repeat(" ", 100) + `{"type":"ping"}`,
	`{"type":"call","id":1,"data":{"userIds":[` + strings.Repeat(`"u",`, 2000) + `"u"],"mediaType":1}}`,
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := protocol.Decode(b)
		if err != nil {
			checkDecodeError(t, b, m, err)
			return
		}
		if m.Type == "" {
			t.Fatal("Decode accepted a message without a type")
		}

		// Round trip: re-encoding the message gives a frame that decodes
		// to the same envelope.
		checkEnvelopeRoundTrip(t, b, m)

		// The data decodes (or fails cleanly) as every request type; what
		// decodes survives Encode and decodes again to the same value.
		for typ, mk := range requestTypes {
			checkDataRoundTrip(t, m, typ, mk)
		}
	})
}

// checkDecodeError checks a Decode failure: no message, a *protocol.Error
// with CodeMessageTooLarge exactly when b is over the limit, else
// CodeMalformedMessage.
func checkDecodeError(t *testing.T, b []byte, m *protocol.Message, err error) {
	t.Helper()
	if m != nil {
		t.Fatalf("Decode returned a message and an error %v", err)
	}
	var pe *protocol.Error
	if !errors.As(err, &pe) {
		t.Fatalf("Decode error %T %v is not a *protocol.Error", err, err)
	}
	if pe.Code != protocol.CodeMalformedMessage && pe.Code != protocol.CodeMessageTooLarge {
		t.Fatalf("Decode error code %d, want %d or %d: %v", pe.Code, protocol.CodeMalformedMessage, protocol.CodeMessageTooLarge, err)
	}
	if (pe.Code == protocol.CodeMessageTooLarge) != (len(b) > protocol.MaxMessageSize) {
		t.Fatalf("Decode of %d bytes: code %d", len(b), pe.Code)
	}
}

// checkEnvelopeRoundTrip checks that m, decoded from b, re-encodes to a
// frame that decodes to the same envelope.
func checkEnvelopeRoundTrip(t *testing.T, b []byte, m *protocol.Message) {
	t.Helper()
	enc, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("re-encode %+v: %v", m, err)
	}
	m2, err := protocol.Decode(enc)
	if err != nil {
		t.Fatalf("re-encoded frame %s does not decode: %v", enc, err)
	}
	// reflect.DeepEqual decides; cmp only explains (its slice diffing
	// is slow on deeply nested arrays).
	if e1, e2 := envelope(t, m), envelope(t, m2); !reflect.DeepEqual(e1, e2) {
		t.Fatalf("round trip changed the message (-first +second):\n%s\nframe: %q\nre-encoded: %s", cmp.Diff(e1, e2), b, enc)
	}
}

// checkDataRoundTrip decodes m's data as request type typ (made by mk):
// it fails only as a malformed message, and what decodes survives Encode
// and decodes again to the same value.
func checkDataRoundTrip(t *testing.T, m *protocol.Message, typ string, mk func() any) {
	t.Helper()
	v := mk()
	err := protocol.DecodeData(m.Data, v)
	if err != nil {
		if code := protocol.CodeOf(err); code != protocol.CodeMalformedMessage {
			t.Fatalf("DecodeData(%s) error code %d, want %d: %v", typ, code, protocol.CodeMalformedMessage, err)
		}
		return
	}
	frame, err := protocol.Encode(m.Type, m.ID, v)
	if err != nil {
		t.Fatalf("Encode(%s) of %+v: %v", typ, v, err)
	}
	m3, err := protocol.Decode(frame)
	if err != nil {
		if len(frame) > protocol.MaxMessageSize {
			return // data can grow on re-encoding (escaped HTML, replaced bad UTF-8)
		}
		t.Fatalf("Encode(%s) gave %s, which does not decode: %v", typ, frame, err)
	}
	if m3.Type != m.Type || m3.ID != m.ID {
		t.Fatalf("Encode(%s) changed the envelope: %q %d -> %q %d", typ, m.Type, m.ID, m3.Type, m3.ID)
	}
	v2 := mk()
	if err := protocol.DecodeData(m3.Data, v2); err != nil {
		t.Fatalf("DecodeData(%s) of its own encoding %s: %v", typ, m3.Data, err)
	}
	if !reflect.DeepEqual(v, v2) {
		t.Fatalf("DecodeData(%s) round trip (-first +second):\n%s", typ, cmp.Diff(v, v2))
	}
}

// env is a message with its data parsed, so that equal JSON written
// differently (spacing, escapes) compares equal.
type env struct {
	Type  string
	ID    uint64
	Data  any
	HasD  bool
	Error *protocol.Error
}

func envelope(t *testing.T, m *protocol.Message) env {
	t.Helper()
	e := env{Type: m.Type, ID: m.ID, Error: m.Error, HasD: len(m.Data) > 0}
	if len(m.Data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(m.Data))
		dec.UseNumber()
		if err := dec.Decode(&e.Data); err != nil {
			t.Fatalf("data %q of a decoded message is not JSON: %v", m.Data, err)
		}
	}
	return e
}

// TestDecodeDataTrailing pins down what DecodeData accepts after the value.
func TestDecodeDataTrailing(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want protocol.Code
	}{
		{``, protocol.CodeOK},
		{`null`, protocol.CodeOK},
		{`{"callId":"x"}`, protocol.CodeOK},
		{`{"callId":"x"} {}`, protocol.CodeMalformedMessage},
		{`{"callId":"x","other":1}`, protocol.CodeMalformedMessage},
		{`{"callId":1}`, protocol.CodeMalformedMessage},
		{`[]`, protocol.CodeMalformedMessage},
	} {
		var v protocol.CallIDRequest
		if got := protocol.CodeOf(protocol.DecodeData(json.RawMessage(tc.raw), &v)); got != tc.want {
			t.Errorf("DecodeData(%q): code %d, want %d", tc.raw, got, tc.want)
		}
	}
}

// FuzzDecodeCompact: Decode's fast path for compact frames agrees with
// plain json.Unmarshal of the envelope, on success and on failure.
func FuzzDecodeCompact(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > protocol.MaxMessageSize {
			return
		}
		m, err := protocol.Decode(b)
		var ref protocol.Message
		rerr := json.Unmarshal(b, &ref)
		if rerr == nil && ref.Type == "" {
			rerr = errors.New("no type")
		}
		if (err == nil) != (rerr == nil) {
			t.Fatalf("Decode(%q): error %v; json.Unmarshal: %v", b, err, rerr)
		}
		if err == nil && !reflect.DeepEqual(*m, ref) {
			t.Fatalf("Decode(%q) = %+v; json.Unmarshal gives %+v", b, *m, ref)
		}
	})
}
