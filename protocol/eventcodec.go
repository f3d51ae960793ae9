package protocol

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The event codec: every call setup sends a handful of events, and the
// server encodes each (once per device: each carries the device's own
// sequence number) while the engine decodes each. encoding/json's
// reflection was the largest part of both (BenchmarkCallSetup). EncodeEvent
// writes the bytes Encode(TypeEvent, 0, ev) writes, field by field;
// DecodeEvent parses the compact form EncodeEvent writes and hands
// anything else to json.Unmarshal, so that its results and errors are
// json.Unmarshal's. Tests (and FuzzDecodeEvent, FuzzEncodeEvent) keep both
// equal to encoding/json.

// EncodeEvent builds an event frame: the same bytes as
// Encode(TypeEvent, 0, ev).
func EncodeEvent(ev *Event) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"type":"event","data":{"event":`...)
	b = appendString(b, ev.Event)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, ev.Seq, 10)
	b = append(b, `,"time":`...)
	b = strconv.AppendInt(b, ev.Time, 10)
	b = appendStringField(b, `,"callId":`, ev.CallID)
	if ev.RoomID != nil {
		b = appendRoom(append(b, `,"roomId":`...), ev.RoomID)
	}
	b = appendStringField(b, `,"groupId":`, ev.GroupID)
	b = append(b, `,"scene":`...)
	b = strconv.AppendInt(b, int64(ev.Scene), 10)
	b = appendIntField(b, `,"mediaType":`, int64(ev.MediaType))
	b = appendIntField(b, `,"oldMediaType":`, int64(ev.OldMediaType))
	b = appendIntField(b, `,"role":`, int64(ev.Role))
	b = appendStringField(b, `,"userId":`, ev.UserID)
	b = appendStringField(b, `,"callerId":`, ev.CallerID)
	b = appendListField(b, `,"calleeIdList":`, ev.CalleeIDList)
	b = appendListField(b, `,"userIdList":`, ev.UserIDList)
	b = appendStringField(b, `,"userData":`, ev.UserData)
	if u := ev.Caller; u != nil {
		b = append(b, `,"caller":{"userId":`...)
		b = appendString(b, u.UserID)
		b = appendStringField(b, `,"nickname":`, u.Nickname)
		b = appendStringField(b, `,"avatar":`, u.Avatar)
		b = append(b, '}')
	}
	if ev.Available != nil {
		b = append(b, `,"available":`...)
		b = strconv.AppendBool(b, *ev.Available)
	}
	b = appendIntField(b, `,"totalTime":`, ev.TotalTime)
	if ev.Reason != ReasonUnknown {
		b = append(b, `,"reason":`...)
		b = appendString(b, ev.Reason.String())
	}
	b = appendIntField(b, `,"code":`, int64(ev.Code))
	b = appendStringField(b, `,"message":`, ev.Message)
	b = appendStringField(b, `,"inviterId":`, ev.InviterID)
	return append(b, "}}"...)
}

func appendStringField(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendString(append(b, key...), s)
}

func appendIntField(b []byte, key string, v int64) []byte {
	if v == 0 {
		return b
	}
	return strconv.AppendInt(append(b, key...), v, 10)
}

func appendListField(b []byte, key string, l []string) []byte {
	if len(l) == 0 {
		return b
	}
	b = append(b, key...)
	for i, s := range l {
		if i == 0 {
			b = append(b, '[')
		} else {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendCallReply appends the JSON of a CallReply, as json.Marshal writes
// it.
func appendCallReply(b []byte, r *CallReply) []byte {
	c := &r.Call
	b = append(b, `{"call":{"callId":`...)
	b = appendString(b, c.CallID)
	b = appendRoom(append(b, `,"roomId":`...), &c.RoomID)
	b = appendStringField(b, `,"groupId":`, c.GroupID)
	b = strconv.AppendInt(append(b, `,"scene":`...), int64(c.Scene), 10)
	b = strconv.AppendInt(append(b, `,"mediaType":`...), int64(c.MediaType), 10)
	b = appendString(append(b, `,"inviter":`...), c.Inviter)
	b = strconv.AppendInt(append(b, `,"role":`...), int64(c.Role), 10)
	b = strconv.AppendInt(append(b, `,"status":`...), int64(c.Status), 10)
	b = appendStringField(b, `,"userData":`, c.UserData)
	b = append(b, `,"participants":`...)
	if c.Participants == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range c.Participants {
			p := &c.Participants[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(append(b, `{"userId":`...), p.UserID)
			b = strconv.AppendInt(append(b, `,"role":`...), int64(p.Role), 10)
			b = strconv.AppendInt(append(b, `,"status":`...), int64(p.Status), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, "}}"...)
}

// appendRoom appends a RoomID's object.
func appendRoom(b []byte, r *RoomID) []byte {
	b = append(b, '{')
	if r.IntRoomID != 0 {
		b = append(b, `"intRoomId":`...)
		b = strconv.AppendUint(b, uint64(r.IntRoomID), 10)
	}
	if r.StrRoomID != "" {
		if r.IntRoomID != 0 {
			b = append(b, ',')
		}
		b = append(b, `"strRoomId":`...)
		b = appendString(b, r.StrRoomID)
	}
	return append(b, '}')
}

// appendString appends s as encoding/json writes it: as is when it has
// nothing to escape (printable ASCII but for " \ < > &), else through
// json.Marshal.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// DecodeEvent parses an event's data: the same Event and error as
// json.Unmarshal into a zero Event.
func DecodeEvent(data []byte) (Event, error) {
	var ev Event
	d := eventDecoder{b: data}
	if d.event(&ev) && d.i == len(d.b) {
		return ev, nil
	}
	ev = Event{}
	err := json.Unmarshal(data, &ev)
	return ev, err
}

// DecodeCallReply parses a CallReply: the same value and error as
// json.Unmarshal into a zero CallReply.
func DecodeCallReply(data []byte) (CallReply, error) {
	var r CallReply
	d := eventDecoder{b: data}
	if d.callReply(&r) && d.i == len(d.b) {
		return r, nil
	}
	r = CallReply{}
	err := json.Unmarshal(data, &r)
	return r, err
}

// decodeCallID is DecodeData's fast path for the data of accept, reject,
// ignore, hangup and join: {"callId":"..."} in the compact form. It
// reports false, having set nothing, for anything else.
func decodeCallID(data []byte, r *CallIDRequest) bool {
	var id string
	d := eventDecoder{b: data}
	if !d.object(func(k string) bool { return k == "callId" && d.strTo(&id) }) || d.i != len(d.b) {
		return false
	}
	r.CallID = id
	return true
}

// eventDecoder parses the compact JSON EncodeEvent writes: no white space,
// strings without escapes, integers without fraction or exponent, each key
// once and exactly as Event's tags spell it. Any other input, valid or
// not, makes it fail (false), and DecodeEvent takes json.Unmarshal.
type eventDecoder struct {
	b []byte
	i int
}

func (d *eventDecoder) peek(c byte) bool { return d.i < len(d.b) && d.b[d.i] == c }

func (d *eventDecoder) eat(c byte) bool {
	if d.peek(c) {
		d.i++
		return true
	}
	return false
}

// object parses {"key":value,...}, calling field for each key, which
// parses the value. It fails on a key seen twice.
func (d *eventDecoder) object(field func(key string) bool) bool {
	if !d.eat('{') {
		return false
	}
	if d.eat('}') {
		return true
	}
	var seen [32]string // Event has 24 keys
	for n := 0; ; n++ {
		k, ok := d.key()
		if !ok || n == len(seen) || slices.Contains(seen[:n], k) || !d.eat(':') || !field(k) {
			return false
		}
		seen[n] = k
		if d.eat('}') {
			return true
		}
		if !d.eat(',') {
			return false
		}
	}
}

func (d *eventDecoder) event(ev *Event) bool {
	return d.object(func(k string) bool {
		if p := ev.stringField(k); p != nil {
			return d.strTo(p)
		}
		if p := ev.intField(k); p != nil {
			return d.intTo(p)
		}
		switch k {
		case "seq":
			v, ok := d.uint(64)
			ev.Seq = v
			return ok
		case "time", "totalTime":
			v, ok := d.int()
			if k == "time" {
				ev.Time = v
			} else {
				ev.TotalTime = v
			}
			return ok
		case "roomId":
			ev.RoomID = &RoomID{}
			return d.room(ev.RoomID)
		case "calleeIdList":
			return d.list(&ev.CalleeIDList)
		case "userIdList":
			return d.list(&ev.UserIDList)
		case "caller":
			ev.Caller = &UserInfo{}
			return d.user(ev.Caller)
		case "available":
			v, ok := d.bool()
			ev.Available = &v
			return ok
		case "reason":
			s, ok := d.str()
			r, err := ParseEndReason(s)
			ev.Reason = r
			return ok && err == nil
		}
		return false
	})
}

// stringField is the string field of Event under JSON key k, nil for none.
func (ev *Event) stringField(k string) *string {
	switch k {
	case "event":
		return &ev.Event
	case "callId":
		return &ev.CallID
	case "groupId":
		return &ev.GroupID
	case "userId":
		return &ev.UserID
	case "callerId":
		return &ev.CallerID
	case "userData":
		return &ev.UserData
	case "message":
		return &ev.Message
	case "inviterId":
		return &ev.InviterID
	}
	return nil
}

// intField is the int-typed field of Event under JSON key k, nil for none.
func (ev *Event) intField(k string) *int {
	switch k {
	case "scene":
		return (*int)(&ev.Scene)
	case "mediaType":
		return (*int)(&ev.MediaType)
	case "oldMediaType":
		return (*int)(&ev.OldMediaType)
	case "role":
		return (*int)(&ev.Role)
	case "code":
		return (*int)(&ev.Code)
	}
	return nil
}

func (d *eventDecoder) callReply(r *CallReply) bool {
	return d.object(func(k string) bool { return k == "call" && d.callState(&r.Call) })
}

func (d *eventDecoder) callState(c *CallState) bool {
	return d.object(func(k string) bool {
		switch k {
		case "callId":
			return d.strTo(&c.CallID)
		case "roomId":
			return d.room(&c.RoomID)
		case "groupId":
			return d.strTo(&c.GroupID)
		case "scene":
			return d.intTo((*int)(&c.Scene))
		case "mediaType":
			return d.intTo((*int)(&c.MediaType))
		case "inviter":
			return d.strTo(&c.Inviter)
		case "role":
			return d.intTo((*int)(&c.Role))
		case "status":
			return d.intTo((*int)(&c.Status))
		case "userData":
			return d.strTo(&c.UserData)
		case "participants":
			return d.participants(&c.Participants)
		}
		return false
	})
}

// participants parses an array of Participant objects ([] is empty, not
// nil; null is not taken).
func (d *eventDecoder) participants(l *[]Participant) bool {
	return d.array(func() { *l = []Participant{} }, func() bool {
		var p Participant
		ok := d.object(func(k string) bool {
			switch k {
			case "userId":
				return d.strTo(&p.UserID)
			case "role":
				return d.intTo((*int)(&p.Role))
			case "status":
				return d.intTo((*int)(&p.Status))
			}
			return false
		})
		*l = append(*l, p)
		return ok
	})
}

// array parses a JSON array: open once its '[' is read, then elem for
// each element (elem parses one value at the decoder's position).
func (d *eventDecoder) array(open func(), elem func() bool) bool {
	if !d.eat('[') {
		return false
	}
	open()
	if d.eat(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.eat(']') {
			return true
		}
		if !d.eat(',') {
			return false
		}
	}
}

func (d *eventDecoder) room(r *RoomID) bool {
	return d.object(func(k string) bool {
		switch k {
		case "intRoomId":
			v, ok := d.uint(32)
			r.IntRoomID = uint32(v)
			return ok
		case "strRoomId":
			return d.strTo(&r.StrRoomID)
		}
		return false
	})
}

func (d *eventDecoder) user(u *UserInfo) bool {
	return d.object(func(k string) bool {
		switch k {
		case "userId":
			return d.strTo(&u.UserID)
		case "nickname":
			return d.strTo(&u.Nickname)
		case "avatar":
			return d.strTo(&u.Avatar)
		}
		return false
	})
}

// list parses an array of strings; [] is an empty list, not nil, as
// json.Unmarshal gives.
func (d *eventDecoder) list(l *[]string) bool {
	return d.array(func() { *l = []string{} }, func() bool {
		s, ok := d.str()
		*l = append(*l, s)
		return ok
	})
}

func (d *eventDecoder) strTo(p *string) bool {
	s, ok := d.str()
	*p = s
	return ok
}

// str parses a string with no escape, control character or invalid UTF-8.
func (d *eventDecoder) str() (string, bool) {
	if !d.eat('"') {
		return "", false
	}
	start, ascii := d.i, true
	for ; d.i < len(d.b); d.i++ {
		switch c := d.b[d.i]; {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
		}
	}
	return "", false
}

// eventKeys are the keys of Event, CallReply and their parts, for key to
// return without allocating.
var eventKeys = func() map[string]string {
	m := map[string]string{}
	for _, t := range []reflect.Type{reflect.TypeFor[Event](), reflect.TypeFor[RoomID](), reflect.TypeFor[UserInfo](),
		reflect.TypeFor[CallReply](), reflect.TypeFor[CallState](), reflect.TypeFor[Participant]()} {
		for i := range t.NumField() {
			k, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			m[k] = k
		}
	}
	return m
}()

// key parses an object key, which must be one of eventKeys.
func (d *eventDecoder) key() (string, bool) {
	if !d.eat('"') {
		return "", false
	}
	end := bytes.IndexByte(d.b[d.i:], '"')
	if end < 0 {
		return "", false
	}
	k, ok := eventKeys[string(d.b[d.i:d.i+end])]
	d.i += end + 1
	return k, ok
}

// digits parses the integer literal at the cursor, an optional minus (if
// signed) and digits without a leading zero, not followed by a fraction
// or an exponent, of magnitude at most max (max+1 when negative).
func (d *eventDecoder) digits(signed bool, max uint64) (v uint64, neg, ok bool) {
	if signed {
		neg = d.eat('-')
	}
	limit := max
	if neg {
		limit++
	}
	n := d.i
	for ; d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9'; d.i++ {
		c := uint64(d.b[d.i] - '0')
		if v > (limit-c)/10 {
			return 0, false, false
		}
		v = v*10 + c
	}
	if d.i == n || d.i-n > 1 && d.b[n] == '0' || d.peek('.') || d.peek('e') || d.peek('E') {
		return 0, false, false
	}
	return v, neg, true
}

func (d *eventDecoder) uint(bits int) (uint64, bool) {
	v, _, ok := d.digits(false, 1<<bits-1)
	return v, ok
}

func (d *eventDecoder) int() (int64, bool) {
	v, neg, ok := d.digits(true, math.MaxInt64)
	if neg {
		return int64(-v), ok //nolint:gosec // at most 1<<63: -v wraps to MinInt64 exactly
	}
	return int64(v), ok //nolint:gosec // at most MaxInt64
}

func (d *eventDecoder) intTo(p *int) bool {
	v, neg, ok := d.digits(true, math.MaxInt)
	if neg {
		*p = int(-v) //nolint:gosec // at most -MinInt
	} else {
		*p = int(v) //nolint:gosec // at most MaxInt
	}
	return ok
}

func (d *eventDecoder) bool() (bool, bool) {
	for _, lit := range [...]string{"true", "false"} {
		if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
			d.i += len(lit)
			return lit == "true", true
		}
	}
	return false, false
}
