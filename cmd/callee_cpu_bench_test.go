//go:build linux

package cmd_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BenchmarkCalleeCPU: the callee's CPU per second of a real call, in its
// own process (docs/performance.md, "Client CPU"): a `termcall serve` on
// 127.0.0.1, `termcall bot --mode answer --play tone:1000`, and per op one
// 5 s `termcall call --play tone:440 --no-audio-device` from another
// process. Reported: the bot's utime+stime (/proc/PID/stat) over the
// caller's lifetime divided by that lifetime, as callee-cpu-s/call-s. For
// the comparison with baresip in the same run, scripts/callee-cpu.sh.
//
//	go test -run '^$' -bench CalleeCPU -benchtime 3x ./cmd/
func BenchmarkCalleeCPU(b *testing.B) {
	home := b.TempDir()
	env := []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "TERMCALL_SECRET=" + secret}
	srv := exec.Command(binary, "serve", "--listen", "127.0.0.1:0", "--data", b.TempDir(), "--media-ip", "127.0.0.1")
	srv.Env = env
	addr := startAndWait(b, srv, true, "termcall serve listening on ")
	server := "http://" + strings.TrimSpace(strings.TrimPrefix(addr, "termcall serve listening on "))
	env = append(env, "TERMCALL_SERVER="+server)
	bot := exec.Command(binary, "bot", "--json", "--user", "cpubob", "--mode", "answer", "--play", "tone:1000")
	bot.Env = env
	startAndWait(b, bot, false, `"state":"connected"`)

	var cpu, wall float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c0, t0 := procCPU(b, bot.Process.Pid), time.Now()
		call := exec.Command(binary, "call", "cpubob", "--user", "cpualice", "--play", "tone:440",
			"--no-audio-device", "--duration", "5s")
		call.Env = env
		if out, err := call.CombinedOutput(); err != nil {
			b.Fatalf("call: %v\n%s", err, out)
		}
		cpu += procCPU(b, bot.Process.Pid) - c0
		wall += time.Since(t0).Seconds()
	}
	b.StopTimer()
	b.ReportMetric(cpu/wall, "callee-cpu-s/call-s")
}

// startAndWait starts c and waits for a line of its stdout (or stderr)
// containing want; the process is stopped at the end of the benchmark.
func startAndWait(b *testing.B, c *exec.Cmd, stderr bool, want string) string {
	b.Helper()
	var r io.Reader
	var err error
	if stderr {
		r, err = c.StderrPipe()
	} else {
		r, err = c.StdoutPipe()
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = c.Process.Signal(syscall.SIGTERM)
		_ = c.Wait()
	})
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				b.Fatalf("%v ended before %q", c.Args, want)
			}
			if strings.Contains(l, want) {
				return l
			}
		case <-deadline:
			b.Fatalf("%v: no %q in 30 s", c.Args, want)
		}
	}
}

// procCPU is a process's utime+stime in seconds.
func procCPU(b *testing.B, pid int) float64 {
	b.Helper()
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name (which may hold spaces) in parentheses.
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (ut + stime) / 100 // USER_HZ is 100 on Linux
}
