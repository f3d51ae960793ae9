// Package tmpfs gives tests a real, small filesystem that they can fill:
// a tmpfs mounted for the test (Linux, root only; the test is skipped
// otherwise) and a filler that takes its free space until ENOSPC.
package tmpfs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size (as mount(8) reads it: "4m") on a new
// directory and unmounts it when the test ends. It skips the test, saying
// why, when it cannot (not Linux, not root, mount failing).
func Mount(t testing.TB, size string) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux to mount a tmpfs")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs (run the test as root to check behaviour on a full disk)")
	}
	dir, err := os.MkdirTemp("", "termcall-tmpfs-")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0755", "tmpfs", dir).CombinedOutput(); err != nil {
		os.Remove(dir)
		t.Skipf("cannot mount a tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
		os.Remove(dir)
	})
	return dir
}

// Fill writes a file in dir until the filesystem is full and returns its
// path; removing the file gives the space back.
func Fill(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for n := len(buf); n > 0; n /= 2 { // big writes, then smaller ones into the last pages
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				if errors.Is(err, syscall.ENOSPC) {
					break
				}
				t.Fatalf("filling %s: %v", dir, err)
			}
		}
	}
	return path
}
