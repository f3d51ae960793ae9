// Package rnnoise is learned noise suppression for 48 kHz speech: RNNoise
// (Jean-Marc Valin's recurrent network, xiph.org, BSD-3-Clause), as the
// WebAssembly build of the npm package @echogarden/rnnoise-wasm 0.2.0,
// run in process by wazero, a pure-Go WebAssembly runtime.
//
// Why this way: the network and its weights are RNNoise's own, bit for
// bit, without a C toolchain or a system library (Debian 12 packages no
// rnnoise), and the package stays pure Go. rnnoise.wasm is committed (and
// embedded), so a plain `go build` needs neither npm nor network; `go
// generate` (fetch.sh) re-fetches it from npm and checks it against the
// pinned sha256 in rnnoise.wasm.sha256, which a test also checks.
// wazero compiles the module to native code once per process (about
// 0.1 s, at the first New); each Denoiser is then one module instance
// (its own linear memory, 16 MiB reserved) and one RNNoise state.
//
// Frames are FrameSize (480) samples: 10 ms at 48 kHz. RNNoise's output
// lags its input by one frame (Delay).
package rnnoise

//go:generate ./fetch.sh

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/termcall/termcall/audio/wasmcache"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

//go:embed rnnoise.wasm
var wasmBin []byte

// FrameSize is the number of samples Process takes: 10 ms at 48 kHz.
const FrameSize = 480

// Delay is how far, in samples, the output lags the input.
const Delay = FrameSize

// The module's exports and imports are minified by emscripten; the names
// below are the ones its JavaScript glue (rnnoise.js of the same
// package) maps to the C functions.
const (
	expMemory       = "c"
	expCtors        = "d" // __wasm_call_ctors
	expFrameSize    = "f" // rnnoise_get_frame_size()
	expCreate       = "h" // rnnoise_create(model *) -> state *
	expDestroy      = "i" // rnnoise_destroy(state *)
	expFree         = "j" // free(p)
	expProcessFrame = "k" // rnnoise_process_frame(state *, out *, in *) -> vad float
	expMalloc       = "l" // malloc(size) -> p
	impModule       = "a"
	impResizeHeap   = "a" // emscripten_resize_heap(size) -> ok
	impMemcpy       = "b" // _emscripten_memcpy_js(dest, src, n)
)

// compiled is the process-wide runtime and compiled module.
var compiled struct {
	once sync.Once
	rt   wazero.Runtime
	mod  wazero.CompiledModule
	err  error
}

func load() (wazero.Runtime, wazero.CompiledModule, error) {
	compiled.once.Do(func() {
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, wasmcache.RuntimeConfig())
		i32 := api.ValueTypeI32
		_, err := rt.NewHostModuleBuilder(impModule).
			NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(resizeHeap), []api.ValueType{i32}, []api.ValueType{i32}).Export(impResizeHeap).
			NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(memcpy), []api.ValueType{i32, i32, i32}, nil).Export(impMemcpy).
			Instantiate(ctx)
		if err != nil {
			compiled.err = fmt.Errorf("rnnoise: host functions: %w", err)
			return
		}
		mod, err := rt.CompileModule(ctx, wasmBin)
		if err != nil {
			compiled.err = fmt.Errorf("rnnoise: compile rnnoise.wasm: %w", err)
			return
		}
		for _, name := range []string{expCtors, expFrameSize, expCreate, expDestroy, expFree, expProcessFrame, expMalloc} {
			if _, ok := mod.ExportedFunctions()[name]; !ok {
				compiled.err = fmt.Errorf("rnnoise: rnnoise.wasm exports no function %q (not the pinned build?)", name)
				return
			}
		}
		compiled.rt, compiled.mod = rt, mod
	})
	return compiled.rt, compiled.mod, compiled.err
}

// resizeHeap grows the caller's memory to at least stack[0] bytes.
func resizeHeap(_ context.Context, m api.Module, stack []uint64) {
	want := uint64(api.DecodeU32(stack[0]))
	mem := m.Memory()
	ok := uint64(0)
	if cur := uint64(mem.Size()); want <= cur {
		ok = 1
	} else if _, grown := mem.Grow(uint32((want - cur + 65535) / 65536)); grown {
		ok = 1
	}
	stack[0] = ok
}

// memcpy copies within the caller's memory (overlapping ranges allowed).
func memcpy(_ context.Context, m api.Module, stack []uint64) {
	dst, src, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	mem := m.Memory()
	from, ok1 := mem.Read(src, n)
	to, ok2 := mem.Read(dst, n)
	if ok1 && ok2 {
		copy(to, from)
	}
}

// Denoiser is one RNNoise state. Its methods are safe for concurrent use
// (calls are serialized).
type Denoiser struct {
	mu      sync.Mutex
	mod     api.Module
	mem     api.Memory
	process api.Function
	destroy api.Function
	free    api.Function
	st, buf uint32 // state; the input then the output floats in the module's memory
	stack   []uint64
	raw     []byte
}

// New returns a Denoiser (the first one in a process also compiles the
// module). Close frees it.
func New() (*Denoiser, error) {
	rt, cm, err := load()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("rnnoise: instantiate: %w", err)
	}
	d := &Denoiser{mod: mod, mem: mod.ExportedMemory(expMemory),
		process: mod.ExportedFunction(expProcessFrame), destroy: mod.ExportedFunction(expDestroy),
		free: mod.ExportedFunction(expFree), stack: make([]uint64, 3), raw: make([]byte, 4*FrameSize)}
	fail := func(err error) (*Denoiser, error) {
		mod.Close(ctx)
		return nil, err
	}
	if d.mem == nil {
		return fail(errors.New("rnnoise: rnnoise.wasm exports no memory"))
	}
	if _, err := mod.ExportedFunction(expCtors).Call(ctx); err != nil {
		return fail(fmt.Errorf("rnnoise: init: %w", err))
	}
	res, err := mod.ExportedFunction(expFrameSize).Call(ctx)
	if err != nil {
		return fail(fmt.Errorf("rnnoise: frame size: %w", err))
	}
	if n := api.DecodeI32(res[0]); n != FrameSize {
		return fail(fmt.Errorf("rnnoise: the model's frame is %d samples, want %d", n, FrameSize))
	}
	res, err = mod.ExportedFunction(expCreate).Call(ctx, 0) // NULL: the built-in model
	if err != nil || api.DecodeU32(res[0]) == 0 {
		return fail(fmt.Errorf("rnnoise: create: %w", err))
	}
	d.st = api.DecodeU32(res[0])
	res, err = mod.ExportedFunction(expMalloc).Call(ctx, 8*FrameSize) // in, then out
	if err != nil || api.DecodeU32(res[0]) == 0 {
		return fail(fmt.Errorf("rnnoise: malloc: %w", err))
	}
	d.buf = api.DecodeU32(res[0])
	return d, nil
}

// Process denoises one frame of FrameSize samples in place and returns
// RNNoise's voice probability for it (0..1). Any other length, or a
// closed Denoiser, leaves pcm unchanged and returns -1.
func (d *Denoiser) Process(pcm []int16) float32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mod == nil || len(pcm) != FrameSize {
		return -1
	}
	raw := d.raw
	for i, s := range pcm {
		// RNNoise works on floats in the 16-bit range
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(s)))
	}
	if !d.mem.Write(d.buf, raw) {
		return -1
	}
	d.stack[0], d.stack[1], d.stack[2] = api.EncodeU32(d.st), api.EncodeU32(d.buf+4*FrameSize), api.EncodeU32(d.buf)
	if err := d.process.CallWithStack(context.Background(), d.stack); err != nil {
		return -1
	}
	vad := api.DecodeF32(d.stack[0])
	out, ok := d.mem.Read(d.buf+4*FrameSize, 4*FrameSize)
	if !ok {
		return -1
	}
	for i := range pcm {
		v := math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:]))
		switch {
		case v > math.MaxInt16:
			v = math.MaxInt16
		case v < math.MinInt16:
			v = math.MinInt16
		}
		pcm[i] = int16(math.Round(float64(v)))
	}
	return vad
}

// Close frees the state and the module instance.
func (d *Denoiser) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mod == nil {
		return nil
	}
	ctx := context.Background()
	_, _ = d.destroy.Call(ctx, uint64(d.st))
	_, _ = d.free.Call(ctx, uint64(d.buf))
	err := d.mod.Close(ctx)
	d.mod = nil
	return err
}
