package loadtest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// procStat returns a process's CPU time (user+system, seconds; 10 ms
// ticks, USER_HZ = 100) and resident memory from /proc.
func procStat(pid int) (cpu float64, rss uint64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 22 {
		return 0, 0, false
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	pages, err3 := strconv.ParseUint(f[21], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, false
	}
	return (ut + st) / 100, pages * uint64(os.Getpagesize()), true
}

// ownCPU is this process's CPU time in seconds.
func ownCPU() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// listenerPID finds the process listening on a TCP port of this machine:
// the socket's inode from /proc/net/tcp{,6}, then the process holding it
// (only processes this user may inspect). 0 if none is found.
func listenerPID(port int) int {
	inodes := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		listeningSockets(f, port, inodes)
	}
	if len(inodes) == 0 {
		return 0
	}
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, dir := range procs {
		if holdsSocket(dir, inodes) {
			if pid, err := strconv.Atoi(filepath.Base(dir)); err == nil {
				return pid
			}
		}
	}
	return 0
}

// listeningSockets adds to inodes the sockets ("socket:[INODE]") that
// listen on port in table f (/proc/net/tcp's format).
func listeningSockets(f string, port int, inodes map[string]bool) {
	fh, err := os.Open(f)
	if err != nil {
		return
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 10 || fs[3] != "0A" { // LISTEN
			continue
		}
		_, p, ok := strings.Cut(fs[1], ":")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(p, 16, 32); err == nil && int(n) == port {
			inodes["socket:["+fs[9]+"]"] = true
		}
	}
}

// holdsSocket reports whether the process of /proc directory dir has one
// of the sockets open.
func holdsSocket(dir string, inodes map[string]bool) bool {
	fds, err := os.ReadDir(dir + "/fd")
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(dir + "/fd/" + fd.Name()); err == nil && inodes[l] {
			return true
		}
	}
	return false
}

// loadAverage is /proc/loadavg's first three figures.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
