package store

import (
	"errors"
	"fmt"
	"path/filepath"
)

// LockFile is the name of the data directory's lock file.
const LockFile = "termcall.lock"

// DirLock is the exclusive ownership of a data directory, held by one
// server process (see LockDir).
type DirLock struct {
	path string
	f    lockHandle
}

// LockedError is LockDir's error when another process owns the directory.
type LockedError struct {
	Dir string
	PID int // the owner's process id, 0 if unknown
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("another termcall server (pid %d)", e.PID)
	}
	return fmt.Sprintf("data directory %s is in use by %s (lock %s); stop that server or give this one another data directory",
		e.Dir, who, filepath.Join(e.Dir, LockFile))
}

// LockDir takes the data directory dir for this process: it locks
// dir/termcall.lock (an advisory flock on unix, which the kernel releases
// when the process dies, so a crash leaves no stale lock) and writes the
// process id into it. It fails with *LockedError while another process
// holds it. On systems without flock it only writes the process id.
func LockDir(dir string) (*DirLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := lockFile(path)
	if err != nil {
		if le := (*LockedError)(nil); errors.As(err, &le) {
			le.Dir = dir
			return nil, le
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	return &DirLock{path: path, f: f}, nil
}

// Path is the lock file's path.
func (l *DirLock) Path() string { return l.path }

// Release gives the directory up. It is safe to call more than once.
func (l *DirLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlockFile(l.f)
	l.f = nil
	return err
}
