// Package wasmcache makes the wazero runtime configuration that audio's
// WebAssembly modules (audio/aec3, audio/rnnoise) share: the native code
// wazero compiles a module to is kept in the user's cache directory,
// under termcall/wazero-VERSION, so only the first process after an
// upgrade pays for the compilation (0.1-0.2 s of CPU a module; loading
// it from the cache takes about 5 ms).
//
// Compiled code is only valid for the wazero that compiled it, so the
// cache is used only where the binary names the wazero it was built
// with (a test binary does not) and the directory can be made; otherwise
// every process compiles.
package wasmcache

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"

	"github.com/tetratelabs/wazero"
)

const wazeroPath = "github.com/tetratelabs/wazero"

var shared struct {
	once  sync.Once
	cache wazero.CompilationCache
}

// RuntimeConfig is a runtime configuration with the shared compilation
// cache (where there is one). Calls are not bounded by a context's end:
// a frame's processing is short and must not be cut half done.
func RuntimeConfig() wazero.RuntimeConfig {
	cfg := wazero.NewRuntimeConfig().WithCloseOnContextDone(false)
	if c := cache(); c != nil {
		cfg = cfg.WithCompilationCache(c)
	}
	return cfg
}

// cache is the process's one compilation cache (nil for none).
func cache() wazero.CompilationCache {
	shared.once.Do(func() {
		dir := cacheDir()
		if dir == "" {
			return
		}
		if c, err := wazero.NewCompilationCacheWithDir(dir); err == nil {
			shared.cache = c
		}
	})
	return shared.cache
}

// cacheDir is the cache directory for this binary's wazero, or "" where there
// is none (no user cache directory, or a binary that does not say which
// wazero it has).
func cacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	return dirFor(base, bi)
}

func dirFor(base string, bi *debug.BuildInfo) string {
	for _, m := range bi.Deps {
		if m.Path == wazeroPath && m.Replace == nil && m.Version != "" && m.Version != "(devel)" {
			return filepath.Join(base, "termcall", "wazero-"+m.Version)
		}
	}
	return ""
}
