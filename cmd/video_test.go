package cmd_test

import (
	"bytes"
	bin "encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/video/videotest"
)

// TestCallVideoToBotRecording: a --video call with the 640x360 pattern at
// 15 fps to a bot with --record-dir; the bot's DIR/<callId>-alice.ivf
// decodes to 640x360 pictures at about 15 fps with the pattern's bars.
func TestCallVideoToBotRecording(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	dir := t.TempDir()
	startBot(t, srv, "vbob", "--record-dir", dir, "--answer-delay", "700ms")
	r := run(t, srv, "call", "vbob", "--user", "valice", "--video", "--camera", "pattern:640x360@15",
		"--no-audio-device", "--duration", "3s", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	callID, _ := summary(t, jsonLines(t, r.stdout))["callId"].(string)
	path := filepath.Join(dir, callID+"-valice.ivf")
	var b []byte
	testutil.WithTimeout(t, func() string {
		var err error
		b, err = os.ReadFile(path)
		if err == nil && len(b) >= 32 && bin.LittleEndian.Uint32(b[24:28]) > 0 { // frame count: finished
			return ""
		}
		return fmt.Sprintf("%s not finished (err %v, %d bytes)", path, err, len(b))
	}, 15*time.Second)
	_, frames, err := videotest.ReadIVF(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if bd := f.Img.Bounds(); bd.Dx() != 640 || bd.Dy() != 360 {
			t.Fatalf("frame %d is %v; want 640x360", i, bd)
		}
	}
	if len(frames) < 20 {
		t.Fatalf("%d frames recorded; want >= 20", len(frames))
	}
	fps := videotest.RateOverLast(frames, 2*time.Second)
	t.Logf("bot recorded %d frames over %v; %.1f fps over the last 2 s", len(frames), frames[len(frames)-1].PTS.Round(time.Millisecond), fps)
	if fps < 12 || fps > 18 {
		t.Errorf("%.1f fps; want 15 +- 3", fps)
	}
	if d := videotest.BarError(frames[len(frames)-1].Img); d > 24 {
		t.Errorf("colour bars off by up to %d levels; want <= 24", d)
	}
	// No video from the bot: no recording of it.
	if _, err := os.Stat(filepath.Join(dir, callID+"-vbob.ivf")); err == nil {
		t.Errorf("a recording of the bot's (absent) video")
	}
}

func TestRecordVideoUsage(t *testing.T) {
	t.Parallel()
	r := run(t, "http://127.0.0.1:1", "call", "x", "--user", "y", "--no-audio-device", "--record-video", filepath.Join(t.TempDir(), "x.mp4"))
	if r.code != 2 || !strings.Contains(r.stderr, ".ivf") {
		t.Errorf("exit %d, want 2 mentioning .ivf:\n%s", r.code, r.stderr)
	}
	r = run(t, "", "call", "--help")
	for _, flag := range []string{"--show-video", "--record-video"} {
		if !strings.Contains(r.stdout, flag) {
			t.Errorf("call --help lacks %s", flag)
		}
	}
}
