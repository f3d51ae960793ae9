package e2e

import (
	"testing"

	"github.com/termcall/termcall/engine"
)

func groupReceived(info engine.CallInfo, caller, group string, callees ...string) engine.CallReceived {
	return engine.CallReceived{CallID: info.CallID, CallerID: caller, CalleeIDList: callees, GroupID: group, MediaType: info.MediaType,
		RoomID: info.RoomID, Scene: engine.SceneGroupCall, Caller: engine.UserInfo{UserID: caller}}
}

func (c *client) mustGroupCall(group string, users ...string) engine.CallInfo {
	c.t.Helper()
	info, err := c.GroupCall(ctx(c.t), group, users, engine.MediaTypeAudio, engine.CallParams{Timeout: 2})
	if err != nil {
		c.t.Fatalf("%s: GroupCall: %v", c.id, err)
	}
	return info
}

// mixedOutcomes: alice calls group team; erin is busy (in another call),
// bob answers, carol rejects, dave's invitation runs out; alice hangs up.
// Each gets the events of each step.
func mixedOutcomes(t *testing.T, alice, bob, carol, dave, erin *client) {
	t.Helper()
	info := alice.mustGroupCall("team", "bob", "carol", "dave", "erin")
	alice.expect(engine.UserLineBusy{CallID: info.CallID, UserID: "erin"})
	all := []string{"bob", "carol", "dave", "erin"}
	bob.expect(groupReceived(info, "alice", "team", all...))
	carol.expect(groupReceived(info, "alice", "team", all...))
	dave.expect(groupReceived(info, "alice", "team", all...))
	erin.expect(engine.CallMissed{CallID: info.CallID, CallerID: "alice", GroupID: "team", MediaType: engine.MediaTypeAudio,
		Caller: engine.UserInfo{UserID: "alice"}, Reason: engine.ReasonLineBusy}) // busy: told at once, across nodes too
	erin.quiet()

	bob.must("Accept", bob.Accept(ctx(t)))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	bob.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"})

	carol.must("Reject", carol.Reject(ctx(t)))
	carol.expect(cancelled(info, "carol", engine.ReasonReject))
	for _, c := range []*client{alice, bob, dave} {
		c.expect(engine.UserReject{CallID: info.CallID, UserID: "carol"})
	}

	// dave's 2 s invitation runs out.
	dave.expect(cancelled(info, "dave", engine.ReasonNoResponse))
	alice.expect(engine.UserNoResponse{CallID: info.CallID, UserID: "dave"})
	bob.expect(engine.UserNoResponse{CallID: info.CallID, UserID: "dave"})

	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(info, engine.RoleCaller, "alice", engine.ReasonHangup))
	bob.expect(engine.UserLeave{CallID: info.CallID, UserID: "alice"}, end(info, engine.RoleCalled, "alice", engine.ReasonHangup))
}

// TestGroupCallMixedOutcomes: bob answers, carol rejects, dave does not
// answer, erin is busy. Rejections and no-answers go to everyone else in
// the call; line busy goes to the caller only.
func TestGroupCallMixedOutcomes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.group("team", "alice", "bob", "carol", "dave", "erin")
	alice, bob, carol, dave, erin := e.login("alice"), e.login("bob"), e.login("carol"), e.login("dave"), e.login("erin")
	frank := e.login("frank")
	connect1v1(t, frank, erin)

	mixedOutcomes(t, alice, bob, carol, dave, erin)
	for _, c := range []*client{alice, bob, carol, dave, erin} {
		c.quiet()
	}
}

func TestGroupCallerCancels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.group("team", "alice", "bob", "carol")
	alice, bob, carol := e.login("alice"), e.login("bob"), e.login("carol")
	info := alice.mustGroupCall("team", "bob", "carol")
	bob.expect(groupReceived(info, "alice", "team", "bob", "carol"))
	carol.expect(groupReceived(info, "alice", "team", "bob", "carol"))
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(cancelled(info, "alice", engine.ReasonCanceled))
	bob.expect(cancelled(info, "alice", engine.ReasonCanceled))
	carol.expect(cancelled(info, "alice", engine.ReasonCanceled))
}

// TestGroupCallOutlivesItsCaller is the reference's mini-program example:
// pending invitations survive the caller's departure, and a later reject
// still reaches the one left in the call, whose call then ends.
func TestGroupCallOutlivesItsCaller(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.group("team", "alice", "bob", "carol")
	alice, bob, carol := e.login("alice"), e.login("bob"), e.login("carol")
	info := alice.mustGroupCall("team", "bob", "carol")
	bob.expect(groupReceived(info, "alice", "team", "bob", "carol"))
	carol.expect(groupReceived(info, "alice", "team", "bob", "carol"))
	bob.must("Accept", bob.Accept(ctx(t)))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	bob.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"})

	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(info, engine.RoleCaller, "alice", engine.ReasonHangup))
	bob.expect(engine.UserLeave{CallID: info.CallID, UserID: "alice"})
	bob.quiet() // carol still rings, so the call goes on

	carol.must("Reject", carol.Reject(ctx(t)))
	carol.expect(cancelled(info, "carol", engine.ReasonReject))
	bob.expect(engine.UserReject{CallID: info.CallID, UserID: "carol"}, end(info, engine.RoleCalled, "carol", engine.ReasonReject))
	alice.quiet()
}

// inviteAndJoin: alice calls group team with bob, who accepts in room
// 777; bob invites carol (a room ID in the params is ignored), who
// accepts; dave joins by room, erin by call ID. Everyone gets each step's
// events; it returns the call.
func inviteAndJoin(t *testing.T, alice, bob, carol, dave, erin *client) engine.CallInfo {
	t.Helper()
	c := ctx(t)
	info, err := alice.GroupCall(c, "team", []string{"bob"}, engine.MediaTypeAudio, engine.CallParams{RoomID: engine.IntRoom(777)})
	alice.must("GroupCall", err)
	bob.expect(groupReceived(info, "alice", "team", "bob"))
	bob.must("Accept", bob.Accept(c))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	bob.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"})

	// bob invites carol; a room ID in the params is ignored.
	got, err := bob.InviteUser(c, []string{"carol"}, engine.CallParams{RoomID: engine.IntRoom(5)})
	bob.must("InviteUser", err)
	if len(got) != 1 || got[0] != "carol" {
		t.Fatalf("InviteUser returned %v, want [carol]", got)
	}
	// As the reference: carol sees alice, the call's caller, as caller; bob
	// is who invited her.
	carol.expect(engine.CallReceived{CallID: info.CallID, CallerID: "alice", CalleeIDList: []string{"bob", "carol"}, GroupID: "team",
		MediaType: engine.MediaTypeAudio, RoomID: engine.IntRoom(777), Scene: engine.SceneGroupCall, Caller: engine.UserInfo{UserID: "alice"},
		InviterID: "bob"})
	upd := engine.GroupCallInviteeListUpdate{CallID: info.CallID, UserIDList: []string{"alice", "bob", "carol"}}
	alice.expect(upd)
	bob.expect(upd)
	carol.must("Accept", carol.Accept(c))
	carol.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"}, engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	alice.expect(engine.UserJoin{CallID: info.CallID, UserID: "carol"})
	bob.expect(engine.UserJoin{CallID: info.CallID, UserID: "carol"})

	// dave joins by room, erin by call ID.
	_, err = dave.JoinInGroupCall(c, engine.IntRoom(777), "team", engine.MediaTypeAudio)
	dave.must("JoinInGroupCall", err)
	dave.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"},
		engine.UserJoin{CallID: info.CallID, UserID: "bob"}, engine.UserJoin{CallID: info.CallID, UserID: "carol"})
	for _, x := range []*client{alice, bob, carol} {
		x.expect(engine.UserJoin{CallID: info.CallID, UserID: "dave"})
	}
	_, err = erin.Join(c, info.CallID)
	erin.must("Join", err)
	erin.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"},
		engine.UserJoin{CallID: info.CallID, UserID: "bob"}, engine.UserJoin{CallID: info.CallID, UserID: "carol"},
		engine.UserJoin{CallID: info.CallID, UserID: "dave"})
	for _, x := range []*client{alice, bob, carol, dave} {
		x.expect(engine.UserJoin{CallID: info.CallID, UserID: "erin"})
	}
	if cur, _ := erin.CurrentCall(); cur.CallID != info.CallID || cur.Status != engine.StatusAccept || len(cur.Participants) != 5 {
		t.Errorf("erin's current call: %+v", cur)
	}
	return info
}

// checkNonMemberRefused checks that mallory, not in group team, can join
// the call neither by ID nor by room, nor start a group call in team.
func checkNonMemberRefused(t *testing.T, mallory *client, info engine.CallInfo) {
	t.Helper()
	c := ctx(t)
	_, err := mallory.Join(c, info.CallID)
	wantCode(t, "non-member joins by call ID", err, 4007)
	_, err = mallory.JoinInGroupCall(c, engine.IntRoom(777), "team", engine.MediaTypeAudio)
	wantCode(t, "non-member joins by room", err, 4007)
	_, err = mallory.GroupCall(c, "team", []string{"alice"}, engine.MediaTypeAudio, engine.CallParams{})
	wantCode(t, "non-member starts a group call", err, 4007)
}

func TestInviteUserAndJoin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.group("team", "alice", "bob", "carol", "dave", "erin")
	alice, bob, carol, dave, erin := e.login("alice"), e.login("bob"), e.login("carol"), e.login("dave"), e.login("erin")
	mallory := e.login("mallory")
	c := ctx(t)
	info := inviteAndJoin(t, alice, bob, carol, dave, erin)

	// Refusals.
	checkNonMemberRefused(t, mallory, info)
	_, err := alice.InviteUser(c, []string{"mallory"}, engine.CallParams{})
	wantCode(t, "invite a non-member", err, 4007)
	_, err = alice.InviteUser(c, []string{"bob"}, engine.CallParams{})
	wantCode(t, "invite someone already in the call", err, 4011)
	_, err = dave.Join(c, info.CallID)
	wantCode(t, "join twice", err, 4011)
	_, err = mallory.GroupCall(c, "nogroup", []string{"alice"}, engine.MediaTypeAudio, engine.CallParams{})
	wantCode(t, "group that does not exist", err, 4006)
	e.group("other", "mallory", "alice")
	_, err = mallory.JoinInGroupCall(c, engine.IntRoom(777), "other", engine.MediaTypeAudio)
	wantCode(t, "join a room of another group", err, 4008)
	_, err = mallory.JoinInGroupCall(c, engine.IntRoom(0), "other", engine.MediaTypeAudio)
	wantCode(t, "join without a room", err, 3002)
	for _, x := range []*client{alice, bob, carol, dave, erin} {
		x.quiet()
	}
}

func TestInviteUserNeedsGroupCall(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.group("team", "alice", "bob", "carol")
	alice, bob, carol := e.login("alice"), e.login("bob"), e.login("carol")
	info := connect1v1(t, alice, bob)
	_, err := alice.InviteUser(ctx(t), []string{"carol"}, engine.CallParams{})
	wantCode(t, "inviteUser in a 1v1 call", err, 4010)
	_, err = carol.Join(ctx(t), info.CallID)
	wantCode(t, "join a 1v1 call", err, 4010)
}

func TestSwitchCallMediaType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	info := connect1v1(t, alice, bob)
	alice.must("Switch", alice.SwitchCallMediaType(ctx(t), engine.MediaTypeVideo))
	ch := engine.CallMediaTypeChanged{CallID: info.CallID, OldType: engine.MediaTypeAudio, NewType: engine.MediaTypeVideo, UserID: "alice"}
	alice.expect(ch)
	bob.expect(ch)
	wantCode(t, "switch to the same type", bob.SwitchCallMediaType(ctx(t), engine.MediaTypeVideo), 4014)
	if cur, _ := bob.CurrentCall(); cur.MediaType != engine.MediaTypeVideo {
		t.Errorf("bob's call media type: got %v, want video", cur.MediaType)
	}
	bob.must("Hangup", bob.Hangup(ctx(t)))
	video := info
	video.MediaType = engine.MediaTypeVideo
	bob.expect(end(video, engine.RoleCalled, "bob", engine.ReasonHangup))
}
