package cmd_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

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

	// Bad commands: a stable code on stderr and an exit code.
	if r := ctl("fly"); r.code != 1 || !strings.Contains(r.stderr, "5013") {
		t.Errorf("ctl fly: exit %d, stderr %q; want 1 and code 5013", r.code, r.stderr)
	}
	if r := ctl("camera", "sideways"); r.code != 2 || !strings.Contains(r.stderr, "1004") {
		t.Errorf("ctl camera sideways: exit %d, stderr %q; want 2 and code 1004", r.code, r.stderr)
	}

	if r := ctl("hangup"); r.code != 0 {
		t.Fatalf("ctl hangup: exit %d: %s", r.code, r.stderr)
	}
	select {
	case <-call.waited:
	case <-time.After(20 * time.Second):
		t.Fatal("groupcall did not exit after ctl hangup")
	}
	if code := call.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("groupcall exit code %d, want 0", code)
	}
	if !strings.Contains(call.out.String(), `"result":"connected"`) {
		t.Errorf("no connected summary:\n%s", call.out.String())
	}
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
