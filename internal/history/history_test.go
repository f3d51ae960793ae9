package history

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/engine"
)

func TestPeers(t *testing.T) {
	r := engine.CallRecord{Inviter: "alice", InviteList: []string{"bob", "carol"}}
	if diff := cmp.Diff([]string{"bob", "carol"}, Peers(r, "alice")); diff != "" {
		t.Error(diff)
	}
	if diff := cmp.Diff([]string{"alice", "carol"}, Peers(r, "bob")); diff != "" {
		t.Error(diff)
	}
}

func TestFormatDuration(t *testing.T) {
	for sec, want := range map[int64]string{0: "0:00", 61: "1:01", 3661: "1:01:01", -5: "0:00"} {
		if got := FormatDuration(sec); got != want {
			t.Errorf("FormatDuration(%d) = %q, want %q", sec, got, want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	recs := []engine.CallRecord{
		{CallID: "c1", Inviter: "alice", InviteList: []string{"bob"}, MediaType: engine.MediaTypeVideo,
			Role: engine.RoleCaller, Result: engine.ResultOutgoing, BeginTime: 0, TotalTime: 75, EndReason: engine.ReasonHangup},
		{CallID: "c2", Inviter: "bob", InviteList: []string{"alice"}, MediaType: engine.MediaTypeAudio, GroupID: "g",
			Role: engine.RoleCalled, Result: engine.ResultMissed, BeginTime: 60, EndReason: engine.ReasonNoResponse},
	}
	var b strings.Builder
	if err := WriteTable(&b, recs, "alice", time.UTC); err != nil {
		t.Fatal(err)
	}
	want := `TIME                 RESULT    PEERS  MEDIA  DURATION  END REASON  CALL ID
1970-01-01 00:00:00  outgoing  bob    video  1:15      hangup      c1
1970-01-01 00:01:00  missed    g:bob  audio  0:00      noResponse  c2
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
}
