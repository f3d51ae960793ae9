// Package aec3 is WebRTC's third echo canceller, AEC3 (the one Chrome
// runs: a delay estimator that follows the echo path's lag as it moves,
// a two-filter adaptive canceller, and a spectral suppressor that keeps
// double talk), for 48 kHz mono, as the WebAssembly build of the npm
// package @ennuicastr/webrtcaec3.js 0.3.0 (WebRTC's
// modules/audio_processing/aec3 with its default EchoCanceller3Config,
// BSD-3-Clause), run in process by wazero, a pure-Go WebAssembly runtime.
//
// Why this way: Debian 12 ships only libwebrtc-audio-processing 0.3,
// whose canceller is the older AEC (audio/webrtcap); the 1.x library with
// AEC3 is in Debian 13, whose packages need a newer C library, and its
// sources are not served here. The wasm build is AEC3's own code, needs
// no C toolchain, and runs on every platform Go does. webrtcaec3.wasm is
// committed (and embedded): a plain `go build` needs neither npm nor
// network; `go generate` (fetch.sh) re-fetches it from npm and checks it
// against the pinned sha256 in webrtcaec3.wasm.sha256, which a test also
// checks. wazero compiles the module to native code once per process (at
// the first New); each Canceller is then one module instance (its own
// 16 MiB linear memory) and one EchoCanceller3.
//
// Frames are FrameSize (480) samples: 10 ms at 48 kHz. Feed each
// loudspeaker frame to Render and each microphone frame to Capture, in
// the order they happen; AEC3 finds the lag between them itself (up to
// about 0.5 s). Capture's output lags its input by Delay samples (the
// band-splitting filters).
package aec3

//go:generate ./fetch.sh

import (
	"bytes"
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

//go:embed webrtcaec3.wasm
var wasmBin []byte

// FrameSize is the number of samples Render and Capture take: 10 ms at
// SampleRate.
const FrameSize = 480

// SampleRate is the only rate a Canceller runs at.
const SampleRate = 48000

// Delay is how far, in samples, Capture's output lags its input: 430
// (9 ms: the three-band splitting and merging filters of WebRTC's
// AudioBuffer and AEC3's 4 ms blocks; measured by TestDelay).
const Delay = 430

// The module's exports and imports are minified by emscripten; the names
// below are the ones its JavaScript glue (dist/webrtcaec3-0.3.0.js of
// the same package) maps to the C functions of its bindings.cc.
const (
	expCtors          = "h" // __wasm_call_ctors
	expCreate         = "i" // WebRtcAec3_create(rate, render channels, capture channels) -> aec *
	expFree           = "j" // WebRtcAec3_free(aec *)
	expSetDelay       = "k" // WebRtcAec3_setAudioBufferDelay(aec *, ms)
	expRenderBuffer   = "n" // WebRtcAec3_renderBuffer(aec *) -> AudioBuffer *
	expCaptureBuffer  = "o" // WebRtcAec3_captureBuffer(aec *) -> AudioBuffer *
	expCaptureOut     = "q" // WebRtcAec3_captureOutBuffer(aec *) -> AudioBuffer *
	expNumFrames      = "r" // WebRtcAudioBuffer_num_frames(ab *) -> n
	expChannels       = "s" // WebRtcAudioBuffer_channels(ab *) -> float **
	expSplit          = "t" // WebRtcAudioBuffer_splitIntoFrequencyBands(ab *)
	expMerge          = "u" // WebRtcAudioBuffer_mergeFrequencyBands(ab *)
	expCopyIn         = "v" // WebRtcAudioBuffer_copyIn(to *, from *, rate, channels)
	expCopyOut        = "w" // WebRtcAudioBuffer_copyOut(to *, from *, rate, channels)
	expMkRender       = "x" // WebRtcAec3_mkRenderBuffer(aec *, in rate, in ch, proc rate, proc ch, out rate, out ch) -> input AudioBuffer *
	expMkCapture      = "y" // WebRtcAec3_mkCaptureBuffer(the same)
	expAnalyzeRender  = "z" // WebRtcAec3_analyzeRender(aec *)
	expAnalyzeCapture = "A" // WebRtcAec3_analyzeCapture(aec *)
	expProcessCapture = "B" // WebRtcAec3_processCapture(aec *, level change)

	impModule    = "a"
	impMemory    = "a"
	impThrow     = "b" // __cxa_throw(exception, type, destructor)
	impAbort     = "c" // abort()
	impFdWrite   = "d" // fd_write(fd, iov, iovcnt, *nwritten) -> errno
	impFdSeek    = "e" // fd_seek(fd, offset low, offset high, whence, *pos) -> errno
	impResize    = "f" // emscripten_resize_heap(size) -> ok
	impFdClose   = "g" // fd_close(fd) -> errno
	errnoNoSys   = 52  // ENOSYS (emscripten's numbering)
	errnoSpipe   = 70  // ESPIPE
	wasmPageSize = 65536
)

var exports = []string{expCtors, expCreate, expFree, expSetDelay, expRenderBuffer, expCaptureBuffer,
	expCaptureOut, expNumFrames, expChannels, expSplit, expMerge, expCopyIn, expCopyOut, expMkRender,
	expMkCapture, expAnalyzeRender, expAnalyzeCapture, expProcessCapture}

// compiled is the process-wide runtime and compiled module.
var compiled struct {
	once sync.Once
	rt   wazero.Runtime
	mod  wazero.CompiledModule
	err  error
}

func load() (wazero.Runtime, wazero.CompiledModule, error) {
	compiled.once.Do(func() {
		compiled.rt, compiled.mod, compiled.err = compile()
	})
	return compiled.rt, compiled.mod, compiled.err
}

func compile() (wazero.Runtime, wazero.CompiledModule, error) {
	ctx := context.Background()
	// the module imports its memory (emscripten's IMPORTED_MEMORY): it
	// is made the module's own, so that every instance has one
	bin, err := defineMemory(wasmBin, impModule, impMemory)
	if err != nil {
		return nil, nil, fmt.Errorf("aec3: %w", err)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, wasmcache.RuntimeConfig())
	i32 := api.ValueTypeI32
	host := func(b wazero.HostModuleBuilder, name string, fn api.GoModuleFunc, params, results int) wazero.HostModuleBuilder {
		return b.NewFunctionBuilder().WithGoModuleFunction(fn, repeat(i32, params), repeat(i32, results)).Export(name)
	}
	b := rt.NewHostModuleBuilder(impModule)
	b = host(b, impThrow, trap("a C++ exception was thrown"), 3, 0)
	b = host(b, impAbort, trap("abort()"), 0, 0)
	b = host(b, impFdWrite, fdWrite, 4, 1)
	b = host(b, impFdSeek, errno(errnoSpipe), 5, 1)
	b = host(b, impResize, errno(0), 1, 1) // 0: the heap cannot grow (16 MiB, as the glue's)
	b = host(b, impFdClose, errno(errnoNoSys), 1, 1)
	if _, err := b.Instantiate(ctx); err != nil {
		rt.Close(ctx)
		return nil, nil, fmt.Errorf("aec3: host functions: %w", err)
	}
	mod, err := rt.CompileModule(ctx, bin)
	if err != nil {
		rt.Close(ctx)
		return nil, nil, fmt.Errorf("aec3: compile webrtcaec3.wasm: %w", err)
	}
	for _, name := range exports {
		if _, ok := mod.ExportedFunctions()[name]; !ok {
			rt.Close(ctx)
			return nil, nil, fmt.Errorf("aec3: webrtcaec3.wasm exports no function %q (not the pinned build?)", name)
		}
	}
	return rt, mod, nil
}

func repeat(t api.ValueType, n int) []api.ValueType {
	out := make([]api.ValueType, n)
	for i := range out {
		out[i] = t
	}
	return out
}

// errTrap is what a call returns when the module threw or aborted.
var errTrap = errors.New("aec3: the module trapped")

func trap(why string) api.GoModuleFunc {
	return func(context.Context, api.Module, []uint64) { panic(fmt.Errorf("%w: %s", errTrap, why)) }
}

func errno(n uint32) api.GoModuleFunc {
	return func(_ context.Context, _ api.Module, stack []uint64) { stack[0] = api.EncodeU32(n) }
}

// fdWrite discards what the module prints (its logging is compiled out;
// only a failed assertion would print), reporting it written.
func fdWrite(_ context.Context, m api.Module, stack []uint64) {
	iov, n, out := api.DecodeU32(stack[1]), api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	mem := m.Memory()
	var total uint32
	for i := range n {
		l, _ := mem.ReadUint32Le(iov + 8*i + 4)
		total += l
	}
	mem.WriteUint32Le(out, total)
	stack[0] = 0
}

// Canceller is one AEC3 instance. Its methods are safe for concurrent
// use (calls are serialized).
type Canceller struct {
	mu     sync.Mutex
	mod    api.Module
	mem    api.Memory
	fn     map[string]api.Function
	aec    uint32
	render struct{ in, buf, data uint32 } // the input AudioBuffer, the processing one, the input's samples
	capt   struct{ in, buf, data uint32 }
	out    struct{ buf, data uint32 } // the capture output AudioBuffer, its samples
	raw    []byte
	stack  []uint64 // arguments and results of a call (CallWithStack: no allocation)
	rsteps []step   // Render's calls
	csteps []step   // Capture's calls
	broken error    // the module trapped: Capture passes the microphone through
}

// New returns a Canceller (the first one in a process also compiles the
// module, about 0.1 s). Close frees it.
func New() (*Canceller, error) {
	rt, cm, err := load()
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	mod, err := rt.InstantiateModule(ctx, cm, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("aec3: instantiate: %w", err)
	}
	c := &Canceller{mod: mod, mem: mod.Memory(), fn: make(map[string]api.Function, len(exports)), raw: make([]byte, 4*FrameSize),
		stack: make([]uint64, 8)}
	for _, name := range exports {
		c.fn[name] = mod.ExportedFunction(name)
	}
	if err := c.init(); err != nil {
		mod.Close(ctx)
		return nil, err
	}
	c.prime()
	return c, nil
}

// primeFrames: New runs AEC3 on this many frames of silence (250 ms, 25
// ms of CPU). Measured (TestEchoRemoved): when speech and its echo start
// within the first 100 ms of a canceller, AEC3 leaves the echo at -32
// ... -36 dB for its first 4 s; after 200 ms or more of silence, at -60
// ... -70 dB from the first 200 ms of speech on. A call's far end may
// talk at once.
const primeFrames = 25

func (c *Canceller) prime() {
	silence := make([]int16, FrameSize)
	for range primeFrames {
		_ = c.Render(silence)
		_ = c.Capture(silence)
	}
}

func (c *Canceller) init() error {
	if c.mem == nil {
		return errors.New("aec3: the module has no memory")
	}
	if _, err := c.call(expCtors); err != nil {
		return fmt.Errorf("aec3: init: %w", err)
	}
	aec, err := c.call(expCreate, SampleRate, 1, 1)
	if err = nonzero(aec, err); err != nil {
		return fmt.Errorf("aec3: create: %w", err)
	}
	c.aec = aec
	if c.render.in, c.render.buf, c.render.data, err = c.buffers(expMkRender, expRenderBuffer); err != nil {
		return err
	}
	if c.capt.in, c.capt.buf, c.capt.data, err = c.buffers(expMkCapture, expCaptureBuffer); err != nil {
		return err
	}
	if c.out.buf, err = c.call(expCaptureOut, uint64(c.aec)); err != nil {
		return fmt.Errorf("aec3: capture output buffer: %w", err)
	}
	if c.out.data, err = c.samples(c.out.buf); err != nil {
		return err
	}
	c.rsteps, c.csteps = c.renderSteps(), c.captureSteps()
	return nil
}

// buffers makes the render or capture buffers (mk) and returns the input
// AudioBuffer, the processing one (get) and where the input's samples
// are.
func (c *Canceller) buffers(mk, get string) (in, buf, data uint32, err error) {
	in, err = c.call(mk, uint64(c.aec), SampleRate, 1, SampleRate, 1, SampleRate, 1)
	if err = nonzero(in, err); err != nil {
		return 0, 0, 0, fmt.Errorf("aec3: make buffers: %w", err)
	}
	buf, err = c.call(get, uint64(c.aec))
	if err = nonzero(buf, err); err != nil {
		return 0, 0, 0, fmt.Errorf("aec3: buffer: %w", err)
	}
	data, err = c.samples(in)
	return in, buf, data, err
}

// samples is where the first channel of AudioBuffer ab keeps its floats.
func (c *Canceller) samples(ab uint32) (uint32, error) {
	n, err := c.call(expNumFrames, uint64(ab))
	if err != nil {
		return 0, fmt.Errorf("aec3: buffer frames: %w", err)
	}
	if n != FrameSize {
		return 0, fmt.Errorf("aec3: a buffer of %d frames, want %d", n, FrameSize)
	}
	chans, err := c.call(expChannels, uint64(ab))
	if err != nil {
		return 0, fmt.Errorf("aec3: buffer channels: %w", err)
	}
	p, ok := c.mem.ReadUint32Le(chans)
	if !ok || p == 0 {
		return 0, errors.New("aec3: a buffer without samples")
	}
	return p, nil
}

// nonzero is err, or an error when the pointer p a call returned is NULL.
func nonzero(p uint32, err error) error {
	if err == nil && p == 0 {
		return errors.New("NULL returned")
	}
	return err
}

// call calls the export name with args and returns its first result (0
// for none).
func (c *Canceller) call(name string, args ...uint64) (uint32, error) {
	fn := c.fn[name]
	copy(c.stack, args)
	if err := fn.CallWithStack(context.Background(), c.stack); err != nil {
		return 0, err
	}
	if len(fn.Definition().ResultTypes()) == 0 {
		return 0, nil
	}
	return api.DecodeU32(c.stack[0]), nil
}

// Render hands AEC3 one frame of what the loudspeaker played. A frame of
// another length is ignored.
func (c *Canceller) Render(far []int16) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(far); err != nil {
		return err
	}
	if err := c.write(c.render.data, far); err != nil {
		return err
	}
	return c.steps(c.rsteps...)
}

// Capture removes from the microphone frame mic, in place, the echo of
// what Render was handed. On an error mic is left as it was.
func (c *Canceller) Capture(mic []int16) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(mic); err != nil {
		return err
	}
	if err := c.write(c.capt.data, mic); err != nil {
		return err
	}
	if err := c.steps(c.csteps...); err != nil {
		return err
	}
	return c.read(c.out.data, mic)
}

// SetAudioBufferDelay tells AEC3 the lag of the echo behind the render
// frames, in ms, as a hint for its delay estimator.
func (c *Canceller) SetAudioBufferDelay(ms int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(nil); err != nil {
		return err
	}
	return c.steps(step{expSetDelay, []uint64{uint64(c.aec), api.EncodeI32(int32(ms))}})
}

func (c *Canceller) usable(frame []int16) error {
	switch {
	case c.mod == nil:
		return errors.New("aec3: closed")
	case c.broken != nil:
		return c.broken
	case frame != nil && len(frame) != FrameSize:
		return fmt.Errorf("aec3: a frame of %d samples, want %d", len(frame), FrameSize)
	}
	return nil
}

type step struct {
	name string
	args []uint64
}

// The steps of a frame, made once (their arguments do not change).
func (c *Canceller) renderSteps() []step {
	return []step{
		{expCopyIn, []uint64{uint64(c.render.buf), uint64(c.render.in), SampleRate, 1}},
		{expSplit, []uint64{uint64(c.render.buf)}},
		{expAnalyzeRender, []uint64{uint64(c.aec)}}}
}

func (c *Canceller) captureSteps() []step {
	buf := uint64(c.capt.buf)
	return []step{
		{expCopyIn, []uint64{buf, uint64(c.capt.in), SampleRate, 1}},
		{expSplit, []uint64{buf}},
		{expAnalyzeCapture, []uint64{uint64(c.aec)}},
		{expProcessCapture, []uint64{uint64(c.aec), 0}},
		{expMerge, []uint64{buf}},
		{expCopyOut, []uint64{uint64(c.out.buf), buf, SampleRate, 1}}}
}

func (c *Canceller) steps(steps ...step) error {
	for _, s := range steps {
		if _, err := c.call(s.name, s.args...); err != nil {
			// a trapped module may have left its heap half updated
			c.broken = fmt.Errorf("aec3: %s: %w", s.name, err)
			return c.broken
		}
	}
	return nil
}

// write puts pcm at p as floats in [-1, 1] (what AudioBuffer's CopyFrom
// takes).
func (c *Canceller) write(p uint32, pcm []int16) error {
	raw := c.raw
	for i, s := range pcm {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(float32(s)/32768))
	}
	if !c.mem.Write(p, raw) {
		return errors.New("aec3: write outside the module's memory")
	}
	return nil
}

// read converts the floats at p back to pcm.
func (c *Canceller) read(p uint32, pcm []int16) error {
	raw, ok := c.mem.Read(p, 4*FrameSize)
	if !ok {
		return errors.New("aec3: read outside the module's memory")
	}
	for i := range pcm {
		v := float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))) * 32768
		pcm[i] = int16(math.Round(max(math.MinInt16, min(math.MaxInt16, v))))
	}
	return nil
}

// Close frees the canceller and its module instance.
func (c *Canceller) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mod == nil {
		return nil
	}
	ctx := context.Background()
	if c.broken == nil && c.aec != 0 {
		_, _ = c.fn[expFree].Call(ctx, uint64(c.aec))
	}
	err := c.mod.Close(ctx)
	c.mod = nil
	return err
}

// defineMemory rewrites a module that imports its memory as module.name
// into one that defines it, with the same limits.
func defineMemory(bin []byte, module, name string) ([]byte, error) {
	if len(bin) < 8 || !bytes.Equal(bin[:4], []byte("\x00asm")) {
		return nil, errors.New("not a WebAssembly module")
	}
	var out bytes.Buffer
	out.Write(bin[:8])
	var limits []byte
	memDone := false
	for p := 8; p < len(bin); {
		id := bin[p]
		size, n := uleb(bin[p+1:])
		start := p + 1 + n
		end := start + int(size)
		if n == 0 || end > len(bin) {
			return nil, errors.New("a truncated section")
		}
		body := bin[start:end]
		// the memory section goes before the first one that follows it in
		// the standard order: global (6), export, start, element, data
		// count (12), code, data
		if limits != nil && !memDone && id != 0 && id > 5 {
			writeSection(&out, 5, append([]byte{1}, limits...))
			memDone = true
		}
		if id == 5 {
			return nil, errors.New("the module already defines a memory")
		}
		if id == 2 {
			nb, l, err := dropMemoryImport(body, module, name)
			if err != nil {
				return nil, err
			}
			body, limits = nb, l
		}
		writeSection(&out, id, body)
		p = end
	}
	if limits == nil {
		return nil, fmt.Errorf("the module imports no memory %s.%s", module, name)
	}
	if !memDone {
		writeSection(&out, 5, append([]byte{1}, limits...))
	}
	return out.Bytes(), nil
}

// dropMemoryImport returns the import section body without the memory
// import module.name, and that import's limits (as encoded).
func dropMemoryImport(body []byte, module, name string) ([]byte, []byte, error) {
	count, n := uleb(body)
	p := n
	var kept bytes.Buffer
	var limits []byte
	kept.Write(leb(count - 1))
	for range count {
		entry := p
		mod, q, ok := readName(body, p)
		field, q2, ok2 := readName(body, q)
		if !ok || !ok2 || q2 >= len(body) {
			return nil, nil, errors.New("a truncated import")
		}
		kind := body[q2]
		d := q2 + 1
		var next int
		switch kind {
		case 0: // function: a type index
			_, m := uleb(body[d:])
			next = d + m
		case 1: // table: a reference type, then limits
			next = skipLimits(body, d+1)
		case 2: // memory: limits
			next = skipLimits(body, d)
		case 3: // global: a value type and mutability
			next = d + 2
		default:
			return nil, nil, fmt.Errorf("an import of kind %d", kind)
		}
		if next < 0 || next > len(body) {
			return nil, nil, errors.New("a truncated import")
		}
		if kind == 2 && mod == module && field == name {
			limits = body[d:next]
		} else {
			kept.Write(body[entry:next])
		}
		p = next
	}
	if limits == nil {
		return nil, nil, fmt.Errorf("the module imports no memory %s.%s", module, name)
	}
	return kept.Bytes(), limits, nil
}

func readName(b []byte, p int) (string, int, bool) {
	if p >= len(b) {
		return "", 0, false
	}
	l, n := uleb(b[p:])
	s := p + n
	if n == 0 || s+int(l) > len(b) {
		return "", 0, false
	}
	return string(b[s : s+int(l)]), s + int(l), true
}

// skipLimits returns where the limits at p end (-1 if truncated).
func skipLimits(b []byte, p int) int {
	if p >= len(b) {
		return -1
	}
	flag := b[p]
	p++
	for range 1 + int(flag&1) {
		if p >= len(b) {
			return -1
		}
		_, n := uleb(b[p:])
		if n == 0 {
			return -1
		}
		p += n
	}
	return p
}

func writeSection(out *bytes.Buffer, id byte, body []byte) {
	out.WriteByte(id)
	out.Write(leb(uint64(len(body))))
	out.Write(body)
}

// uleb decodes an unsigned LEB128 number; n is 0 when b ends first.
func uleb(b []byte) (v uint64, n int) {
	for i, c := range b {
		if i == 10 {
			return 0, 0
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}

func leb(v uint64) []byte {
	var out []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, c|0x80)
			continue
		}
		return append(out, c)
	}
}
