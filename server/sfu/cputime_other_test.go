//go:build !unix

package sfu

import "time"

func cpuTime() time.Duration { return 0 }
