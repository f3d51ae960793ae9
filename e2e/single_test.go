package e2e

import (
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
)

// received is what the callee of a 1v1 audio call from caller gets.
func received(info engine.CallInfo, caller, callee, userData string) engine.CallReceived {
	return engine.CallReceived{CallID: info.CallID, CallerID: caller, CalleeIDList: []string{callee}, MediaType: engine.MediaTypeAudio,
		UserData: userData, RoomID: info.RoomID, Scene: engine.SceneSingleCall, Caller: engine.UserInfo{UserID: caller}}
}

func begin(info engine.CallInfo, role engine.Role) engine.CallBegin {
	return engine.CallBegin{CallID: info.CallID, RoomID: info.RoomID, MediaType: info.MediaType, Role: role}
}

func end(info engine.CallInfo, role engine.Role, by string, r engine.EndReason) engine.CallEnd {
	return engine.CallEnd{CallID: info.CallID, RoomID: info.RoomID, MediaType: info.MediaType, Role: role, Reason: r, UserID: by}
}

func cancelled(info engine.CallInfo, user string, r engine.EndReason) engine.CallCancelled {
	return engine.CallCancelled{CallID: info.CallID, UserID: user, Reason: r}
}

// connect1v1 has alice call bob and bob accept.
func connect1v1(t *testing.T, alice, bob *client) engine.CallInfo {
	t.Helper()
	info := alice.mustCall(bob.id, engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(received(info, alice.id, bob.id, ""))
	bob.must("Accept", bob.Accept(ctx(t)))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: bob.id})
	bob.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: alice.id})
	return info
}

// reject1v1 has caller call callee and callee reject: callee's call is
// cancelled by its reject, caller is told of it and its call cancelled.
func reject1v1(t *testing.T, caller, callee *client) engine.CallInfo {
	t.Helper()
	info := caller.mustCall(callee.id, engine.MediaTypeAudio, engine.CallParams{})
	callee.expect(received(info, caller.id, callee.id, ""))
	callee.must("Reject", callee.Reject(ctx(t)))
	caller.expect(engine.UserReject{CallID: info.CallID, UserID: callee.id}, cancelled(info, caller.id, engine.ReasonReject))
	callee.expect(cancelled(info, callee.id, engine.ReasonReject))
	return info
}

// cancel1v1 has caller call callee and hang up while it rings: both calls
// are cancelled, the callee's with the caller's ID (the native rule).
func cancel1v1(t *testing.T, caller, callee *client) engine.CallInfo {
	t.Helper()
	info := caller.mustCall(callee.id, engine.MediaTypeAudio, engine.CallParams{})
	callee.expect(received(info, caller.id, callee.id, ""))
	caller.must("Hangup", caller.Hangup(ctx(t)))
	caller.expect(cancelled(info, caller.id, engine.ReasonCanceled))
	callee.expect(cancelled(info, caller.id, engine.ReasonCanceled))
	return info
}

func TestAcceptCallerHangsUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	info := connect1v1(t, alice, bob)
	if got := alice.Status(); got != engine.StatusAccept {
		t.Errorf("alice status: got %v, want accept", got)
	}
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(info, engine.RoleCaller, "alice", engine.ReasonHangup))
	bob.expect(engine.UserLeave{CallID: info.CallID, UserID: "alice"}, end(info, engine.RoleCalled, "alice", engine.ReasonHangup))
	alice.quiet()
	bob.quiet()
	if got := bob.Status(); got != engine.StatusNone {
		t.Errorf("bob status after the call: got %v, want none", got)
	}
}

func TestAcceptCalleeHangsUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	info := connect1v1(t, alice, bob)
	bob.must("Hangup", bob.Hangup(ctx(t)))
	bob.expect(end(info, engine.RoleCalled, "bob", engine.ReasonHangup))
	alice.expect(engine.UserLeave{CallID: info.CallID, UserID: "bob"}, end(info, engine.RoleCaller, "bob", engine.ReasonHangup))
}

func TestCallReceivedCarriesParams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	alice.must("SetSelfInfo", alice.SetSelfInfo(ctx(t), "Alice A.", "https://example.org/a.png"))
	info := alice.mustCall("bob", engine.MediaTypeVideo, engine.CallParams{RoomID: engine.StrRoom("team room #1"), UserData: "hello"})
	if info.RoomID != engine.StrRoom("team room #1") {
		t.Errorf("room: got %v, want the string room", info.RoomID)
	}
	bob.expect(engine.CallReceived{CallID: info.CallID, CallerID: "alice", CalleeIDList: []string{"bob"}, MediaType: engine.MediaTypeVideo,
		UserData: "hello", RoomID: engine.StrRoom("team room #1"), Scene: engine.SceneSingleCall,
		Caller: engine.UserInfo{UserID: "alice", Nickname: "Alice A.", Avatar: "https://example.org/a.png"}})
	cur, ok := bob.CurrentCall()
	if !ok || cur.CallID != info.CallID || cur.Status != engine.StatusWaiting || cur.Role != engine.RoleCalled {
		t.Errorf("bob's current call: got %+v %v", cur, ok)
	}
}

func TestCallerCancels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	// Native rule: the callee gets the caller's ID.
	cancel1v1(t, alice, bob)
	alice.quiet()
}

func TestCalleeTimesOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	start := time.Now()
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{Timeout: 1})
	bob.expect(received(info, "alice", "bob", ""))
	alice.expect(engine.UserNoResponse{CallID: info.CallID, UserID: "bob"}, cancelled(info, "alice", engine.ReasonNoResponse))
	bob.expect(cancelled(info, "bob", engine.ReasonNoResponse))
	if d := time.Since(start); d < time.Second {
		t.Errorf("timed out after %v, before the 1 s timeout", d)
	}
}

func TestCalleeRejects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	reject1v1(t, alice, bob)
	alice.quiet()
	bob.quiet()
}

func TestCalleeIgnores(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(received(info, "alice", "bob", ""))
	bob.must("Ignore", bob.Ignore(ctx(t)))
	alice.expect(engine.UserLineBusy{CallID: info.CallID, UserID: "bob"}, cancelled(info, "alice", engine.ReasonLineBusy))
	bob.expect(cancelled(info, "bob", engine.ReasonLineBusy))
}

func TestCalleeBusy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob, carol := e.login("alice"), e.login("bob"), e.login("carol")
	connect1v1(t, bob, carol)
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	alice.expect(engine.UserLineBusy{CallID: info.CallID, UserID: "bob"}, cancelled(info, "alice", engine.ReasonLineBusy))
	// bob, busy, is told at once (termcall's onCallMissed).
	bob.expect(engine.CallMissed{CallID: info.CallID, CallerID: "alice", MediaType: engine.MediaTypeAudio,
		Caller: engine.UserInfo{UserID: "alice"}, Reason: engine.ReasonLineBusy})
	bob.quiet()
	carol.quiet()

	// Ringing counts as busy too.
	dave := e.login("dave")
	ring := dave.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	alice.expect(received(ring, "dave", "alice", ""))
	erin := e.login("erin")
	info2 := erin.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
	erin.expect(engine.UserLineBusy{CallID: info2.CallID, UserID: "alice"}, cancelled(info2, "erin", engine.ReasonLineBusy))
	alice.expect(engine.CallMissed{CallID: info2.CallID, CallerID: "erin", MediaType: engine.MediaTypeAudio,
		Caller: engine.UserInfo{UserID: "erin"}, Reason: engine.ReasonLineBusy})
	alice.quiet()
}

func TestCallErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	c := ctx(t)
	_, err := alice.Call(c, "nobody", engine.MediaTypeAudio, engine.CallParams{})
	wantCode(t, "call an unknown user", err, 4001)
	_, err = alice.Call(c, "bad id!", engine.MediaTypeAudio, engine.CallParams{})
	wantCode(t, "call a bad userId", err, 3001)
	_, err = alice.Call(c, "alice", engine.MediaTypeAudio, engine.CallParams{})
	wantCode(t, "call yourself", err, 3011)
	_, err = alice.Call(c, "bob", engine.MediaType(7), engine.CallParams{})
	wantCode(t, "bad media type", err, 3003)
	_, err = alice.Call(c, "bob", engine.MediaTypeAudio, engine.CallParams{RoomID: engine.StrRoom("no/slash")})
	wantCode(t, "bad string room", err, 3002)
	_, err = alice.Call(c, "bob", engine.MediaTypeAudio, engine.CallParams{RoomID: engine.IntRoom(2147483648)})
	wantCode(t, "int room out of range", err, 3002)
	_, err = alice.Call(c, "bob", engine.MediaTypeAudio, engine.CallParams{Timeout: 601})
	wantCode(t, "timeout out of range", err, 3004)
	wantCode(t, "accept with no call", bob.Accept(c), 5006)
	wantCode(t, "nickname over 500 bytes", alice.SetSelfInfo(c, string(make([]byte, 501)), ""), 3005)
	wantCode(t, "avatar not a URL", alice.SetSelfInfo(c, "a", "not a url"), 3006)

	// Rooms: the integer wins over the string; 123 and "123" are different rooms.
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{RoomID: engine.RoomID{IntRoomID: 123, StrRoomID: "x"}})
	if info.RoomID != engine.IntRoom(123) {
		t.Errorf("room with both forms: got %v, want int 123", info.RoomID)
	}
	carol, dave := e.login("carol"), e.login("dave")
	_, err = carol.Call(c, "dave", engine.MediaTypeAudio, engine.CallParams{RoomID: engine.IntRoom(123)})
	wantCode(t, "room in use", err, 4009)
	other := carol.mustCall("dave", engine.MediaTypeAudio, engine.CallParams{RoomID: engine.StrRoom("123")})
	if other.RoomID != engine.StrRoom("123") {
		t.Errorf("string room 123: got %v", other.RoomID)
	}
	_, err = alice.Call(c, "dave", engine.MediaTypeAudio, engine.CallParams{})
	wantCode(t, "second call while dialing", err, 4005)
	_, _ = bob, dave
}
