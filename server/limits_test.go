package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
)

// startLimitsServer is startFzServer with a one-second keepalive, no media,
// the default limits on, and a configuration hook.
func startLimitsServer(tb testing.TB, mod func(*server.Config)) *fzServer {
	tb.Helper()
	return startFzServerWith(tb, func(c *server.Config) {
		c.Keepalive, c.GracePeriod, c.NoMedia = time.Second, 3*time.Second, true
		c.CallRate, c.MaxPendingInvitations = 0, 0 // the defaults
		if mod != nil {
			mod(c)
		}
	})
}

// refusedWith sends a request and checks that it is refused with code.
func (c *rawClient) refusedWith(tb testing.TB, id uint64, frame string, code protocol.Code) {
	tb.Helper()
	if err := c.send([]byte(frame)); err != nil {
		tb.Fatalf("send: %v", err)
	}
	m := c.await(tb, protocol.TypeReply, id)
	if m.Error == nil || m.Error.Code != code {
		tb.Fatalf("%s: got reply %s, want error %d", frame, m.Data, int(code))
	}
}

// alive checks that the connection still answers.
func (c *rawClient) alive(tb testing.TB) {
	tb.Helper()
	c.sendf(tb, `{"type":"ping","id":999}`)
	c.await(tb, protocol.TypePong, 999)
}

func loginFrame(tb testing.TB, id uint64, user, deviceID string, multi bool, lastSeq uint64) string {
	tb.Helper()
	return fmt.Sprintf(`{"type":"login","id":%d,"data":{"version":1,"sdkAppId":%d,"userId":%q,"userSig":%q,"deviceId":%q,"multiDevice":%v,"lastSeq":%d}}`,
		id, fzAppID, user, fzSig(tb, user), deviceID, multi, lastSeq)
}

func loginReply(tb testing.TB, m *protocol.Message) protocol.LoginReply {
	tb.Helper()
	var rep protocol.LoginReply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		tb.Fatalf("login reply %s: %v", m.Data, err)
	}
	return rep
}

func callFrame(id uint64, callee, userData, push string) string {
	if push != "" {
		push = fmt.Sprintf(`,"offlinePushInfo":{"desc":%q}`, push)
	}
	return fmt.Sprintf(`{"type":"call","id":%d,"data":{"userIds":[%q],"mediaType":1,"params":{"userData":%q%s}}}`, id, callee, userData, push)
}

// callAndCancel places a call and hangs it up before it is answered.
func callAndCancel(tb testing.TB, caller *rawClient, id uint64, callee, userData string) {
	tb.Helper()
	m := caller.request(tb, id, callFrame(id, callee, userData, ""))
	var rep protocol.CallReply
	if err := json.Unmarshal(m.Data, &rep); err != nil {
		tb.Fatal(err)
	}
	caller.request(tb, id+1, fmt.Sprintf(`{"type":"hangup","id":%d,"data":{"callId":%q}}`, id+1, rep.Call.CallID))
}

// TestDeviceLimit: the third multi-device login of a user is refused with
// 7002 and its connection stays up; a resume of a known device and a login
// that kicks the others are not new devices.
func TestDeviceLimit(t *testing.T) {
	s := startLimitsServer(t, func(c *server.Config) { c.MaxDevicesPerUser = 2 })
	d1 := keep(t, s.dial(t))
	rep1 := loginReply(t, d1.request(t, 1, loginFrame(t, 1, "alice", "", true, 0)))
	d2 := keep(t, s.dial(t))
	d2.request(t, 1, loginFrame(t, 1, "alice", "", true, 0))
	d3 := keep(t, s.dial(t))
	d3.refusedWith(t, 1, loginFrame(t, 1, "alice", "", true, 0), protocol.CodeTooManyDevices)
	d3.alive(t)

	// Device 1 reconnects: a resume, not a third device.
	d1.close()
	d1b := keep(t, s.dial(t))
	if rep := loginReply(t, d1b.request(t, 1, loginFrame(t, 1, "alice", rep1.DeviceID, true, 0))); rep.DeviceID != rep1.DeviceID {
		t.Fatalf("resume: got device %q, want %q", rep.DeviceID, rep1.DeviceID)
	}
	// Without multi-device the login kicks the others, so it is allowed.
	d3.request(t, 2, loginFrame(t, 2, "alice", "", false, 0))
	d2.awaitEvent(t, protocol.EventKickedOffline)
}

// TestCallRateLimit: call attempts beyond the bucket are refused with 7003,
// the connection stays up, and the bucket refills.
func TestCallRateLimit(t *testing.T) {
	s := startLimitsServer(t, func(c *server.Config) { c.CallRate, c.CallBurst = 2, 2 })
	alice := keep(t, s.loginRaw(t, "alice"))
	keep(t, s.loginRaw(t, "bob")).drain()
	callAndCancel(t, alice, 10, "bob", "")
	callAndCancel(t, alice, 12, "bob", "")
	alice.refusedWith(t, 14, callFrame(14, "bob", "", ""), protocol.CodeRateLimited)
	alice.alive(t)
	// The bucket refills at 2 per second.
	deadline := time.Now().Add(fzWait)
	for id := uint64(100); ; id += 2 {
		alice.sendf(t, "%s", callFrame(id, "bob", "", ""))
		m := alice.await(t, protocol.TypeReply, id)
		if m.Error == nil {
			break
		}
		if m.Error.Code != protocol.CodeRateLimited || time.Now().After(deadline) {
			t.Fatalf("call after a pause: %v", m.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPendingInvitationsLimit: a callee with the limit of unanswered
// invitations (cancelled ones included) gets no more, from anyone, and the
// refused attempts ring nothing; invitations the callee answered do not
// count.
func TestPendingInvitationsLimit(t *testing.T) {
	s := startLimitsServer(t, func(c *server.Config) { c.MaxPendingInvitations = 2; c.CallRate = -1 })
	alice := keep(t, s.loginRaw(t, "alice"))
	carol := keep(t, s.loginRaw(t, "carol"))
	bob := keep(t, s.loginRaw(t, "bob"))
	dave := keep(t, s.loginRaw(t, "dave"))
	dave.drain()

	// Answered invitations are not pending.
	for i := uint64(0); i < 3; i++ {
		m := carol.request(t, 10+i, callFrame(10+i, "bob", "", ""))
		var rep protocol.CallReply
		_ = json.Unmarshal(m.Data, &rep)
		bob.awaitEvent(t, protocol.EventCallReceived)
		bob.request(t, 20+i, fmt.Sprintf(`{"type":"reject","id":%d,"data":{"callId":%q}}`, 20+i, rep.Call.CallID))
	}
	callAndCancel(t, alice, 30, "bob", "")
	callAndCancel(t, alice, 32, "bob", "")
	alice.refusedWith(t, 34, callFrame(34, "bob", "", ""), protocol.CodeTooManyInvitations)
	carol.refusedWith(t, 35, callFrame(35, "bob", "", ""), protocol.CodeTooManyInvitations)
	alice.alive(t)
	// Others are still callable.
	callAndCancel(t, alice, 36, "dave", "")

	// bob was rung 3 + 2 times, no more.
	got := 0
	for {
		m, _, ok, _ := bob.next(500 * time.Millisecond)
		if !ok {
			break
		}
		if m.Type == protocol.TypeEvent && strings.Contains(string(m.Data), `"event":"onCallReceived"`) {
			got++
		}
	}
	if got != 2 {
		t.Errorf("bob rang %d more times after rejecting 3 calls, want 2", got)
	}
}

// TestInvitationSizeLimit: userData plus offlinePushInfo over the limit is
// refused with 7005.
func TestInvitationSizeLimit(t *testing.T) {
	s := startLimitsServer(t, func(c *server.Config) { c.MaxInvitationBytes = 100 })
	alice := keep(t, s.loginRaw(t, "alice"))
	keep(t, s.loginRaw(t, "bob")).drain()
	alice.refusedWith(t, 10, callFrame(10, "bob", strings.Repeat("u", 60), strings.Repeat("p", 60)), protocol.CodeInvitationTooLarge)
	alice.refusedWith(t, 11, callFrame(11, "bob", strings.Repeat("u", 101), ""), protocol.CodeInvitationTooLarge)
	alice.alive(t)
	callAndCancel(t, alice, 12, "bob", strings.Repeat("u", 40))
}

// TestResumeAfterBacklogOverflow: a device that missed more than its
// backlog holds cannot be replayed to exactly: its resume says resumed
// false and lists its calls, so that the client reconciles.
func TestResumeAfterBacklogOverflow(t *testing.T) {
	s := startLimitsServer(t, func(c *server.Config) { c.MaxPendingInvitations, c.CallRate, c.GracePeriod = -1, -1, time.Minute })
	alice := keep(t, s.loginRaw(t, "alice"))
	bob := s.dial(t)
	rep := loginReply(t, bob.request(t, 1, loginFrame(t, 1, "bob", "", false, 0)))
	bob.close()

	// Each ring carries 4 KiB: 80 of them are more than the 256 KiB backlog.
	data := strings.Repeat("d", protocol.MaxUserDataLen)
	for i := uint64(0); i < 80; i++ {
		callAndCancel(t, alice, 10+2*i, "bob", data)
	}
	bob = keep(t, s.dial(t))
	got := loginReply(t, bob.request(t, 1, loginFrame(t, 1, "bob", rep.DeviceID, false, 0)))
	if diff := cmp.Diff(protocol.LoginReply{UserID: "bob", DeviceID: rep.DeviceID, Resumed: false, Calls: []protocol.CallState{}}, got,
		cmpopts.IgnoreFields(protocol.LoginReply{}, "ServerTime", "SigExpireAt")); diff != "" {
		t.Errorf("resume after the backlog overflowed (-want +got):\n%s", diff)
	}

	// A short absence is replayed exactly.
	bob.close()
	callAndCancel(t, alice, 500, "bob", "")
	bob = keep(t, s.dial(t))
	// bob saw nothing since his login (lastSeq is that of the last event he
	// read: none); two events (ring, cancel) are replayed after seq 160.
	got = loginReply(t, bob.request(t, 1, loginFrame(t, 1, "bob", rep.DeviceID, false, 160)))
	if !got.Resumed {
		t.Fatalf("resume after a short absence: resumed false")
	}
	for _, name := range []string{protocol.EventCallReceived, protocol.EventCallCancelled} {
		if ev := bob.awaitEvent(t, name); ev.Seq <= 160 {
			t.Errorf("replayed %s has seq %d, want > 160", name, ev.Seq)
		}
	}
}
