package wasmcache

import (
	"path/filepath"
	"runtime/debug"
	"testing"
)

// TestDirFor: the cache is per wazero version, and there is none for a
// replaced or unversioned wazero (its compiled code could be stale).
func TestDirFor(t *testing.T) {
	dep := func(version string, replaced bool) *debug.BuildInfo {
		m := &debug.Module{Path: wazeroPath, Version: version}
		if replaced {
			m.Replace = &debug.Module{Path: "../wazero"}
		}
		return &debug.BuildInfo{Deps: []*debug.Module{{Path: "github.com/pion/webrtc/v4", Version: "v4.1.0"}, m}}
	}
	for _, tc := range []struct {
		bi   *debug.BuildInfo
		want string
	}{
		{dep("v1.9.0", false), filepath.Join("/c", "termcall", "wazero-v1.9.0")},
		{dep("v1.9.0", true), ""},
		{dep("(devel)", false), ""},
		{&debug.BuildInfo{}, ""},
	} {
		if got := dirFor("/c", tc.bi); got != tc.want {
			t.Errorf("dirFor(%+v) = %q, want %q", tc.bi.Deps, got, tc.want)
		}
	}
}
