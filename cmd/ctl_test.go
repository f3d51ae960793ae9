package cmd_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkCtlStatus checks alice's status through ctl during her call.
func checkCtlStatus(t *testing.T, ctl func(args ...string) result) {
	t.Helper()
	r := ctl("status")
	if r.code != 0 {
		t.Fatalf("ctl status: exit %d: %s", r.code, r.stderr)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status is not JSON: %q", r.stdout)
	}
	if st["user"] != "alice" || st["status"] != "accept" || st["microphone"] != true {
		t.Errorf("status %v", st)
	}
}

// checkCtlMuteAndInvite mutes alice through ctl (bob is told her audio is
// off) and invites carol (who is called by alice).
func checkCtlMuteAndInvite(t *testing.T, ctl func(args ...string) result, bob, carol *proc) {
	t.Helper()
	if r := ctl("mute"); r.code != 0 {
		t.Fatalf("ctl mute: exit %d: %s", r.code, r.stderr)
	}
	l := bob.waitLine(t, `"isAudioAvailable":false`)
	if !strings.Contains(l, `"userId":"alice"`) {
		t.Errorf("bob got %s, want alice's audio off", l)
	}

	if r := ctl("invite", "ccar"); r.code != 0 || !strings.Contains(r.stdout, `"invited":["ccar"]`) {
		t.Fatalf("ctl invite: exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	l = carol.waitLine(t, `"event":"onCallReceived"`)
	if !strings.Contains(l, `"callerId":"alice"`) {
		t.Errorf("carol's invitation: %s, want callerId alice", l)
	}
}

// checkConnectedExit checks that the call command (name) exits with 0
// within 20 s of what, having printed a connected summary.
func checkConnectedExit(t *testing.T, call *proc, name, what string) {
	t.Helper()
	select {
	case <-call.waited:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not exit after %s", name, what)
	}
	if code := call.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("%s exit code %d, want 0", name, code)
	}
	if !strings.Contains(call.out.String(), `"result":"connected"`) {
		t.Errorf("no connected summary:\n%s", call.out.String())
	}
}

// TestControlSocket drives a running groupcall through --control with
// termcall ctl, as a script would: mute reaches the bot on the far end as
// onUserAudioAvailable(false), invite rings another bot, hangup ends the
// call and the process exits 0.
func TestControlSocket(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	if r := run(t, srv, "group", "create", "ctlg", "alice", "cbob", "ccar"); r.code != 0 {
		t.Fatalf("group create: %d %s", r.code, r.stderr)
	}
	botSock := filepath.Join(t.TempDir(), "bot.sock")
	bob := startBot(t, srv, "cbob", "--mode", "answer", "--control", "unix:"+botSock)
	if r := run(t, srv, "ctl", botSock, "status"); r.code != 0 || !strings.Contains(r.stdout, `"user":"cbob"`) {
		t.Errorf("ctl status on the bot: exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
	carol := startBot(t, srv, "ccar", "--mode", "no-answer")
	sock := filepath.Join(t.TempDir(), "call.sock")
	call := start(t, srv, false, "groupcall", "--group", "ctlg", "cbob", "--user", "alice", "--json",
		"--no-audio-device", "--play", "tone:440", "--control", "unix:"+sock)
	call.waitLine(t, `"event":"onCallBegin"`)
	bob.waitLine(t, `"event":"onUserAudioAvailable","callId"`)

	ctl := func(args ...string) result {
		t.Helper()
		return run(t, srv, append([]string{"ctl", "unix:" + sock}, args...)...)
	}
	checkCtlStatus(t, ctl)
	checkCtlMuteAndInvite(t, ctl, bob, carol)

	// Bad commands: a stable code on stderr and an exit code.
	for _, tc := range []struct {
		args []string
		exit int
		code string
	}{
		{[]string{"fly"}, 1, "5013"},
		{[]string{"camera", "sideways"}, 2, "1004"},
	} {
		if r := ctl(tc.args...); r.code != tc.exit || !strings.Contains(r.stderr, tc.code) {
			t.Errorf("ctl %s: exit %d, stderr %q; want %d and code %s", strings.Join(tc.args, " "), r.code, r.stderr, tc.exit, tc.code)
		}
	}

	if r := ctl("hangup"); r.code != 0 {
		t.Fatalf("ctl hangup: exit %d: %s", r.code, r.stderr)
	}
	checkConnectedExit(t, call, "groupcall", "ctl hangup")
	// The socket is gone with the process; ctl says so with 5015.
	if r := ctl("status"); r.code != 1 || !strings.Contains(r.stderr, "5015") {
		t.Errorf("ctl after exit: exit %d, stderr %q; want 1 and 5015", r.code, r.stderr)
	}
}

// TestBeautyFlag: --beauty out of 0..9 is a usage error before anything
// is placed; a bad --control address too.
func TestBeautyFlag(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"call", "bob", "--user", "alice", "--beauty", "12"},
		{"call", "bob", "--user", "alice", "--control", "tcp:0.0.0.0:0", "--server", "http://127.0.0.1:1"},
	} {
		if r := run(t, "", args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, r.code, r.stderr)
		}
	}
}
