package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/termcall/termcall/engine"
)

// rejectedVideoCall: alice video-calls bob, who rejects; their events are
// taken unchecked.
func rejectedVideoCall(alice, bob *client) engine.CallInfo {
	alice.t.Helper()
	rej := alice.mustCall("bob", engine.MediaTypeVideo, engine.CallParams{})
	bob.rec.take(1, wait)
	bob.must("Reject", bob.Reject(ctx(alice.t)))
	alice.rec.take(2, wait)
	bob.rec.take(1, wait)
	return rej
}

func TestRecordsAndTotalTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	start := time.Now().Unix()

	// A connected call of a little over a second.
	info := connect1v1(t, alice, bob)
	time.Sleep(1100 * time.Millisecond)
	alice.must("Hangup", alice.Hangup(ctx(t)))
	got := alice.rec.take(1, wait)
	if ce, ok := got[0].(engine.CallEnd); !ok || ce.TotalTime != 1 {
		t.Fatalf("alice's CallEnd: got %+v, want totalTime 1", got)
	}
	bob.rec.take(2, wait)

	// A rejected call and a missed one.
	rej := rejectedVideoCall(alice, bob)
	missed := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{Timeout: 1})
	bob.rec.take(2, wait)
	alice.rec.take(2, wait)

	recs, err := bob.QueryRecentCalls(ctx(t), engine.RecentCallsFilter{})
	bob.must("QueryRecentCalls", err)
	base := engine.CallRecord{UserID: "bob", Inviter: "alice", InviteList: []string{"bob"}, Scene: engine.SceneSingleCall, Role: engine.RoleCalled}
	want := []engine.CallRecord{
		with(base, missed, engine.MediaTypeAudio, engine.ResultMissed, engine.ReasonNoResponse, 0),
		with(base, rej, engine.MediaTypeVideo, engine.ResultIncoming, engine.ReasonReject, 0),
		with(base, info, engine.MediaTypeAudio, engine.ResultIncoming, engine.ReasonHangup, 1),
	}
	ignore := cmpopts.IgnoreFields(engine.CallRecord{}, "BeginTime", "ConnectedAt")
	if diff := cmp.Diff(want, recs, ignore); diff != "" {
		t.Fatalf("bob's records (-want +got):\n%s", diff)
	}
	for _, r := range recs {
		if r.BeginTime < start || r.BeginTime > time.Now().Unix() {
			t.Errorf("record %s: beginTime %d outside the test", r.CallID, r.BeginTime)
		}
	}

	missedOnly, err := bob.QueryRecentCalls(ctx(t), engine.RecentCallsFilter{Result: engine.ResultMissed})
	bob.must("QueryRecentCalls missed", err)
	if len(missedOnly) != 1 || missedOnly[0].CallID != missed.CallID {
		t.Errorf("missed filter: got %+v", missedOnly)
	}
	out, err := alice.QueryRecentCalls(ctx(t), engine.RecentCallsFilter{Result: engine.ResultOutgoing})
	alice.must("QueryRecentCalls outgoing", err)
	if len(out) != 3 {
		t.Errorf("alice's outgoing records: got %d, want 3", len(out))
	}

	// Deleting hides the record for alice only.
	checkDeleteHidesForAlice(t, alice, bob, info)

	// The admin listing (for billing) keeps everything.
	checkAdminKeepsCall(t, e, info)
}

// checkDeleteHidesForAlice deletes alice's record of info (and one that
// does not exist): alice has two records left, bob still three; deleting
// nothing is refused.
func checkDeleteHidesForAlice(t *testing.T, alice, bob *client, info engine.CallInfo) {
	t.Helper()
	del, err := alice.DeleteRecordCalls(ctx(t), []string{info.CallID, "doesnotexist"})
	alice.must("DeleteRecordCalls", err)
	if diff := cmp.Diff([]string{info.CallID}, del); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	after, _ := alice.QueryRecentCalls(ctx(t), engine.RecentCallsFilter{})
	if len(after) != 2 {
		t.Errorf("alice after delete: %d records, want 2", len(after))
	}
	bobs, _ := bob.QueryRecentCalls(ctx(t), engine.RecentCallsFilter{})
	if len(bobs) != 3 {
		t.Errorf("bob after alice's delete: %d records, want 3", len(bobs))
	}
	_, err = alice.DeleteRecordCalls(ctx(t), nil)
	wantCode(t, "delete nothing", err, 3014)
}

// checkAdminKeepsCall checks that the admin listing keeps both
// participants' records of info, a 1 s call hung up.
func checkAdminKeepsCall(t *testing.T, e *env, info engine.CallInfo) {
	t.Helper()
	var all struct {
		Records []engine.CallRecord `json:"records"`
	}
	code, err := e.admin("GET", "/v1/calls?callId="+info.CallID, nil, &all)
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /v1/calls: %d %v", code, err)
	}
	if len(all.Records) != 2 {
		t.Fatalf("admin records of the call: got %d, want 2 (one per participant)", len(all.Records))
	}
	for _, r := range all.Records {
		if r.TotalTime != 1 || r.EndReason != engine.ReasonHangup {
			t.Errorf("admin record %+v: want totalTime 1, reason hangup", r)
		}
	}
}

func with(r engine.CallRecord, info engine.CallInfo, mt engine.MediaType, res engine.ResultType, reason engine.EndReason, total int64) engine.CallRecord {
	r.CallID, r.RoomID, r.MediaType, r.Result, r.EndReason, r.TotalTime = info.CallID, info.RoomID, mt, res, reason, total
	return r
}

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.group("team", "alice")
	var errBody struct {
		Error engine.Error `json:"error"`
	}
	code, _ := e.admin("POST", "/v1/groups", map[string]any{"groupId": "team"}, &errBody)
	if code != http.StatusConflict || errBody.Error.Code != 4012 {
		t.Errorf("duplicate group: %d %+v", code, errBody)
	}
	code, _ = e.admin("POST", "/v1/groups", map[string]any{"groupId": "bad group!"}, &errBody)
	if code != http.StatusBadRequest || errBody.Error.Code != 3007 {
		t.Errorf("bad group id: %d %+v", code, errBody)
	}
	code, _ = e.admin("POST", "/v1/groups/team/members", map[string]any{"userIds": []string{"bob", "carol"}}, nil)
	if code != http.StatusOK {
		t.Errorf("add members: %d", code)
	}
	code, _ = e.admin("DELETE", "/v1/groups/team/members/carol", nil, nil)
	if code != http.StatusOK {
		t.Errorf("remove member: %d", code)
	}
	var g struct {
		Members []string `json:"members"`
	}
	e.admin("GET", "/v1/groups/team", nil, &g) //nolint:errcheck
	if diff := cmp.Diff([]string{"alice", "bob"}, g.Members); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	code, _ = e.admin("GET", "/v1/groups/nope", nil, &errBody)
	if code != http.StatusNotFound || errBody.Error.Code != 4006 {
		t.Errorf("missing group: %d %+v", code, errBody)
	}

	// A user's sig is not an admin's; no sig at all is refused.
	for _, tc := range []struct {
		what, path, sig string
		want            int
	}{
		{"user sig on the admin API", "/v1/groups", e.sig("alice", time.Hour), http.StatusForbidden},
		{"no sig on the admin API", "/v1/groups", "", http.StatusUnauthorized},
		{"healthz", "/healthz", "", http.StatusOK},
	} {
		if got := getStatus(t, e.url+tc.path, tc.sig); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.what, got, tc.want)
		}
	}
}

// getStatus GETs url, with the sig as bearer token unless it is "", and
// returns the status.
func getStatus(t *testing.T, url, sig string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if sig != "" {
		req.Header.Set("Authorization", "Bearer "+sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
