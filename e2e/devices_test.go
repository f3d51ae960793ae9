package e2e

import (
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/usersig"
)

// loginMulti logs a device in with multi-device mode on from the start.
func (e *env) loginMulti(id, dev string) *client {
	e.t.Helper()
	c := e.newClient(id, device(dev))
	c.must("EnableMultiDeviceAbility", c.EnableMultiDeviceAbility(ctx(e.t), true))
	c.must("Init", c.Init(ctx(e.t), appID, id, e.sig(id, time.Hour)))
	c.rec.skipConn()
	return c
}

func TestMultiDeviceFirstAcceptWins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.login("alice")
	phone, laptop := e.loginMulti("bob", "phone"), e.loginMulti("bob", "laptop")
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	phone.expect(received(info, "alice", "bob", ""))
	laptop.expect(received(info, "alice", "bob", ""))
	laptop.must("Accept", laptop.Accept(ctx(t)))
	laptop.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"})
	phone.expect(cancelled(info, "bob", engine.ReasonOtherDeviceAccepted))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	wantCode(t, "accept on the other device", phone.Accept(ctx(t)), 5006)
	alice.must("Hangup", alice.Hangup(ctx(t)))
	laptop.expect(engine.UserLeave{CallID: info.CallID, UserID: "alice"}, end(info, engine.RoleCalled, "alice", engine.ReasonHangup))
	phone.quiet()
}

func TestMultiDeviceRejectStopsAll(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.login("alice")
	phone, laptop := e.loginMulti("bob", "phone"), e.loginMulti("bob", "laptop")
	rejectOnOneDevice(alice, phone, laptop)
}

// rejectOnOneDevice: alice calls bob, ringing on both his devices; the
// phone rejects; the laptop hears otherDeviceReject, alice the reject.
func rejectOnOneDevice(alice, phone, laptop *client) {
	alice.t.Helper()
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	phone.expect(received(info, "alice", "bob", ""))
	laptop.expect(received(info, "alice", "bob", ""))
	phone.must("Reject", phone.Reject(ctx(alice.t)))
	phone.expect(cancelled(info, "bob", engine.ReasonReject))
	laptop.expect(cancelled(info, "bob", engine.ReasonOtherDeviceReject))
	alice.expect(engine.UserReject{CallID: info.CallID, UserID: "bob"}, cancelled(info, "alice", engine.ReasonReject))
}

// TestMultiDeviceRace: two devices accept at once; exactly one gets the call.
func TestMultiDeviceRace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.login("alice")
	phone, laptop := e.loginMulti("bob", "phone"), e.loginMulti("bob", "laptop")
	for round := 0; round < 5; round++ {
		acceptRace(t, round, alice, phone, laptop)
	}
}

// acceptRace: alice calls bob, ringing on both devices, which accept at
// once; exactly one gets the call, the other hears otherDeviceAccepted;
// alice hangs up.
func acceptRace(t *testing.T, round int, alice, phone, laptop *client) {
	t.Helper()
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	phone.expect(received(info, "alice", "bob", ""))
	laptop.expect(received(info, "alice", "bob", ""))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, d := range []*client{phone, laptop} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = d.Accept(ctx(t)) }()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("round %d: accept errors %v and %v; want exactly one success", round, errs[0], errs[1])
	}
	winner, loser, lost := phone, laptop, errs[1]
	if errs[0] != nil {
		winner, loser, lost = laptop, phone, errs[0]
	}
	// The loser is refused by the server (4004), or, when the other
	// device's answer reached it first, already has no call (5006).
	if !engine.IsCode(lost, 4004) && !engine.IsCode(lost, 5006) {
		t.Fatalf("round %d: losing accept: got %v, want code 4004 or 5006", round, lost)
	}
	winner.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"})
	loser.expect(cancelled(info, "bob", engine.ReasonOtherDeviceAccepted))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(info, engine.RoleCaller, "alice", engine.ReasonHangup))
	winner.expect(engine.UserLeave{CallID: info.CallID, UserID: "alice"}, end(info, engine.RoleCalled, "alice", engine.ReasonHangup))
}

// TestSecondLoginKicksFirst: without multi-device mode a new login displaces
// the old one, whose call ends.
func TestSecondLoginKicksFirst(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.login("alice")
	first := e.login("bob", device("first"))
	info := connect1v1(t, alice, first)
	second := e.login("bob", device("second"))
	first.expect(end(info, engine.RoleCalled, "bob", engine.ReasonOffline), engine.KickedOffline{})
	alice.expect(engine.UserLeave{CallID: info.CallID, UserID: "bob"}, end(info, engine.RoleCaller, "bob", engine.ReasonOffline))
	if st := first.Status(); st != engine.StatusNone {
		t.Errorf("kicked device status: got %v, want none", st)
	}
	second.quiet()

	// The kicked device does not reconnect by itself; Init logs it back in,
	// kicking the other one.
	time.Sleep(300 * time.Millisecond)
	if st := first.ConnectionState(); st != engine.Disconnected {
		t.Errorf("kicked device connection: got %v, want disconnected", st)
	}
	first.must("Init again", first.Init(ctx(t), appID, "bob", e.sig("bob", time.Hour)))
	second.expect(engine.KickedOffline{})
	info2 := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	first.expect(received(info2, "alice", "bob", ""))
}

// TestUserSigExpiry: the server says the sig expired; the call goes on; a
// new sig through Init keeps the call and allows new calls.
func TestUserSigExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice := e.login("alice")
	bob := e.newClient("bob")
	bob.must("Init", bob.Init(ctx(t), appID, "bob", e.sig("bob", 2*time.Second)))
	bob.rec.skipConn()
	info := connect1v1(t, alice, bob)
	bob.expect(engine.UserSigExpired{})
	_, err := bob.Call(ctx(t), "alice", engine.MediaTypeAudio, engine.CallParams{})
	wantCode(t, "call with an expired sig", err, 2002)
	if st := bob.Status(); st != engine.StatusAccept {
		t.Fatalf("bob's call after expiry: got %v, want accept", st)
	}
	bob.must("Init with a new sig", bob.Init(ctx(t), appID, "bob", e.sig("bob", time.Hour)))
	if st := bob.Status(); st != engine.StatusAccept {
		t.Fatalf("bob's call after renewal: got %v, want accept", st)
	}
	alice.quiet()
	bob.must("Hangup", bob.Hangup(ctx(t)))
	bob.expect(end(info, engine.RoleCalled, "bob", engine.ReasonHangup))
	alice.expect(engine.UserLeave{CallID: info.CallID, UserID: "bob"}, end(info, engine.RoleCaller, "bob", engine.ReasonHangup))
	_ = bob.mustCall("alice", engine.MediaTypeAudio, engine.CallParams{})
}

func TestBadLogins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.newClient("bob")
	old, err := usersig.GenAt(appID, secret, "bob", time.Now().Add(-2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "expired sig", c.Init(ctx(t), appID, "bob", old), 2002)
	wantCode(t, "sig of another user", c.Init(ctx(t), appID, "bob", e.sig("alice", time.Hour)), 2004)
	wantCode(t, "other app", c.Init(ctx(t), appID+1, "bob", e.sig("bob", time.Hour)), 2003)
	wantCode(t, "garbage sig", c.Init(ctx(t), appID, "bob", "eJyrVkrNTcxMzlGyUsrIz"), 2001)
	wantCode(t, "bad user ID", c.Init(ctx(t), appID, "b o b", e.sig("bob", time.Hour)), 3001)
	_, err = c.Call(ctx(t), "alice", engine.MediaTypeAudio, engine.CallParams{})
	wantCode(t, "call before Init", err, 5001)
	dead, err := engine.New(engine.Options{Server: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Destroy()
	wantCode(t, "server unreachable", dead.Init(ctx(t), appID, "bob", e.sig("bob", time.Hour)), 5002)
}

// TestOfflineCalleeRingsOnLogin: an invitation to a known user who is offline
// waits; logging in before the timeout rings.
func TestOfflineCalleeRingsOnLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.users("bob")
	alice := e.login("alice")
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{Timeout: 10})
	time.Sleep(200 * time.Millisecond)
	bob := e.login("bob")
	bob.expect(received(info, "alice", "bob", ""))
	bob.must("Accept", bob.Accept(ctx(t)))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})

	// An offline callee who never logs in times out as usual.
	e.users("carol")
	carol := e.newClient("carol")
	_ = carol
	dave := e.login("dave")
	info2 := dave.mustCall("carol", engine.MediaTypeAudio, engine.CallParams{Timeout: 1})
	dave.expect(engine.UserNoResponse{CallID: info2.CallID, UserID: "carol"}, cancelled(info2, "dave", engine.ReasonNoResponse))
}
