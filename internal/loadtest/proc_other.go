//go:build !linux

package loadtest

func procStat(int) (float64, uint64, bool) { return 0, 0, false }
func ownCPU() float64                      { return 0 }
func listenerPID(int) int                  { return 0 }
func loadAverage() string                  { return "" }
