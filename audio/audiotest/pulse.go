package audiotest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartPulse starts a private PulseAudio server for the test with one
// null sink ("spk"), whose monitor is the default source: a microphone
// that hears exactly what is played. It points this process at it
// (XDG_RUNTIME_DIR, through t.Setenv, so the test cannot be parallel) and
// stops it when the test ends. The test is skipped, saying so, when
// pulseaudio is not installed.
func StartPulse(t testing.TB) {
	t.Helper()
	bin, err := exec.LookPath("pulseaudio")
	if err != nil {
		t.Skipf("pulseaudio is not installed (scripts/setup.sh TEST_PACKAGES has it): %v", err)
	}
	dir, err := os.MkdirTemp("", "tcpulse")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-D", "--exit-idle-time=-1", "-n", "--use-pid-file=yes", "--disallow-exit",
		"--log-target=file:"+filepath.Join(dir, "log"),
		"--load=module-native-protocol-unix auth-anonymous=1",
		"--load=module-null-sink sink_name=spk rate=48000 channels=1",
		"--load=module-always-sink")
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "HOME="+dir, "PULSE_RUNTIME_PATH="+filepath.Join(dir, "pulse"))
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		os.RemoveAll(dir)
		t.Fatalf("pulseaudio: %v\n%s\n%s", err, out, log)
	}
	sock := filepath.Join(dir, "pulse", "native")
	waitForSocket(t, dir, sock)
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("PULSE_SERVER", "unix:"+sock)
	t.Cleanup(func() {
		stopPulse(dir)
		os.RemoveAll(dir)
	})
}

// waitForSocket waits up to 10 s for the server in dir to create its
// socket.
func waitForSocket(t testing.TB, dir, sock string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Fatalf("pulseaudio: no socket %s after 10 s\n%s", sock, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stopPulse sends the server in dir (its pid file) SIGTERM and waits up
// to 2 s for it to exit.
func stopPulse(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "pulse", "pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return
	}
	_ = p.Signal(syscall.SIGTERM)
	for range 100 {
		if p.Signal(syscall.Signal(0)) != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
