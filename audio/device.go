package audio

/*
#include <stdlib.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// BackendNull is miniaudio's real null backend. malgo.BackendNull is
// wrong (it is miniaudio's "custom" backend): see docs/audio.md, "Devices".
const BackendNull = malgo.Backend(14)

// DeviceInfo describes an audio device.
type DeviceInfo struct {
	Name    string
	ID      string // backend-specific, hex
	Capture bool   // a microphone; false: a playback device
	Default bool
	Backend string // "alsa", "pulseaudio", "coreaudio", "wasapi", ..., "null"
}

var backendNames = map[malgo.Backend]string{
	malgo.BackendWasapi: "wasapi", malgo.BackendDsound: "dsound", malgo.BackendWinmm: "winmm",
	malgo.BackendCoreaudio: "coreaudio", malgo.BackendSndio: "sndio", malgo.BackendAudio4: "audio4",
	malgo.BackendOss: "oss", malgo.BackendPulseaudio: "pulseaudio", malgo.BackendAlsa: "alsa",
	malgo.BackendJack: "jack", malgo.BackendAaudio: "aaudio", malgo.BackendOpensl: "opensl",
	BackendNull: "null",
}

// realBackends lists the backends worth trying, in order, without
// touching any that could hang, crash or run unpaced: on Linux
// PulseAudio (or PipeWire's pulse server) only when a server socket is
// there, ALSA only when the kernel lists a sound card (without one
// ALSA's default PCM can be the unpaced "null" plugin), never JACK.
func realBackends() []malgo.Backend {
	switch runtime.GOOS {
	case "linux":
		var b []malgo.Backend
		if pulseServerLikely() {
			b = append(b, malgo.BackendPulseaudio)
		}
		if alsaCardsPresent() {
			b = append(b, malgo.BackendAlsa)
		}
		return b
	case "darwin", "ios":
		return []malgo.Backend{malgo.BackendCoreaudio}
	case "windows":
		return []malgo.Backend{malgo.BackendWasapi, malgo.BackendDsound, malgo.BackendWinmm}
	case "freebsd", "netbsd", "openbsd", "dragonfly":
		return []malgo.Backend{malgo.BackendSndio, malgo.BackendAudio4, malgo.BackendOss}
	case "android":
		return []malgo.Backend{malgo.BackendAaudio, malgo.BackendOpensl}
	}
	return nil
}

func pulseServerLikely() bool {
	if os.Getenv("PULSE_SERVER") != "" {
		return true
	}
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = fmt.Sprintf("/run/user/%d", os.Getuid())
	}
	_, err := os.Stat(filepath.Join(dir, "pulse", "native"))
	return err == nil
}

func alsaCardsPresent() bool {
	b, err := os.ReadFile("/proc/asound/cards")
	return err == nil && len(strings.TrimSpace(string(b))) > 0 && !strings.Contains(string(b), "no soundcards")
}

func newContext(b malgo.Backend) (*malgo.AllocatedContext, error) {
	// One explicit backend per context, so we know which one runs.
	return malgo.InitContext([]malgo.Backend{b}, malgo.ContextConfig{}, nil)
}

// Devices lists the capture and playback devices of the usable
// backends, followed by the null devices (named "null").
func Devices() ([]DeviceInfo, error) {
	var out []DeviceInfo
	for _, b := range realBackends() {
		ctx, err := newContext(b)
		if err != nil {
			continue
		}
		for _, kind := range []malgo.DeviceType{malgo.Capture, malgo.Playback} {
			infos, err := ctx.Devices(kind)
			if err != nil {
				continue
			}
			for _, in := range infos {
				out = append(out, DeviceInfo{Name: in.Name(), ID: in.ID.String(),
					Capture: kind == malgo.Capture, Default: in.IsDefault != 0, Backend: backendNames[b]})
			}
		}
		_ = ctx.Uninit()
		ctx.Free()
	}
	hasDefault := map[bool]bool{}
	for _, d := range out {
		hasDefault[d.Capture] = hasDefault[d.Capture] || d.Default
	}
	for _, capture := range []bool{true, false} {
		out = append(out, DeviceInfo{Name: "null", ID: "null", Capture: capture,
			Default: !hasDefault[capture], Backend: "null"})
	}
	return out, nil
}

var noCardOnce sync.Once

// Device is an open capture or playback device.
type Device struct {
	ctx     *malgo.AllocatedContext
	dev     *malgo.Device
	name    string
	backend string
	ring    *ringBuffer
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once

	// pacing guard (see callback)
	start  time.Time
	frames atomic.Int64

	played atomic.Pointer[func([]int16)] // SetPlayedTap
}

// SetPlayedTap makes a playback device call tap, from its callback, with
// every sample it hands the sound server or card, as it does (nil: none).
// tap must be quick and must not block. Downlink.Played is the tap that
// gives the echo canceller its reference.
func (d *Device) SetPlayedTap(tap func([]int16)) {
	if tap == nil {
		d.played.Store(nil)
		return
	}
	d.played.Store(&tap)
}

// Name is the device's name ("null" for the null device).
func (d *Device) Name() string { return d.name }

// Backend is the miniaudio backend in use ("null" when there is no sound card).
func (d *Device) Backend() string { return d.backend }

// IsNull reports whether this is the null device.
func (d *Device) IsNull() bool { return d.backend == "null" }

// Xruns returns the samples dropped because the consumer was late
// (capture) and the samples of silence played because the producer was
// late (playback).
func (d *Device) Xruns() (overruns, underruns uint64) {
	d.ring.mu.Lock()
	defer d.ring.mu.Unlock()
	return d.ring.overruns, d.ring.underruns
}

// OpenCapture opens the microphone named name ("" or "default": the
// default device; "null": the null device; otherwise the first device
// whose name equals, then contains, name, case-insensitively) at 48 kHz
// mono with a 10 ms period, and calls onFrame with each 20 ms frame
// (FrameSamples samples, valid during the call only) from its own
// goroutine. The device callback only copies into a ring buffer. When no
// real device can be opened it falls back to the null device (silence,
// paced in real time), logging "no sound card; using the null audio
// device" once.
func OpenCapture(name string, onFrame func([]int16)) (*Device, error) {
	d, err := openDevice(malgo.Capture, name)
	if err != nil {
		return nil, err
	}
	go func() {
		defer close(d.done)
		frame := make([]int16, FrameSamples)
		for {
			select {
			case <-d.stop:
				return
			case <-d.wake:
			}
			for d.ring.Len() >= FrameSamples {
				d.ring.Read(frame, false)
				onFrame(frame)
			}
		}
	}()
	if err := d.dev.Start(); err != nil {
		d.Close()
		return nil, fmt.Errorf("audio: start capture: %w", err)
	}
	return d, nil
}

// OpenPlayback opens the playback device named name (as for
// OpenCapture) and calls fill from its own goroutine whenever 20 ms
// more audio is needed (about 40 ms are kept queued ahead of the
// device). fill must fill the whole slice.
func OpenPlayback(name string, fill func([]int16)) (*Device, error) {
	d, err := openDevice(malgo.Playback, name)
	if err != nil {
		return nil, err
	}
	const ahead = 2 * FrameSamples
	frame := make([]int16, FrameSamples)
	for d.ring.Len() < ahead { // prime before the device starts
		fill(frame)
		d.ring.Write(frame)
	}
	go func() {
		defer close(d.done)
		for {
			select {
			case <-d.stop:
				return
			case <-d.wake:
			}
			for d.ring.Len() < ahead {
				fill(frame)
				d.ring.Write(frame)
			}
		}
	}()
	if err := d.dev.Start(); err != nil {
		d.Close()
		return nil, fmt.Errorf("audio: start playback: %w", err)
	}
	return d, nil
}

func openDevice(kind malgo.DeviceType, name string) (*Device, error) {
	d := &Device{
		ring: newRingBuffer(8 * FrameSamples),
		wake: make(chan struct{}, 1),
		stop: make(chan struct{}),
		done: make(chan struct{}),
	}
	want := strings.ToLower(strings.TrimSpace(name))
	if want != "null" {
		var errs []error
		for _, b := range realBackends() {
			err := d.init(b, kind, want)
			if err == nil {
				return d, nil
			}
			errs = append(errs, fmt.Errorf("%s: %w", backendNames[b], err))
		}
		if want != "" && want != "default" {
			if len(errs) == 0 {
				errs = append(errs, errors.New("no sound card"))
			}
			return nil, fmt.Errorf("audio: no %s device %q: %w", kindName(kind), name, errors.Join(errs...))
		}
		noCardOnce.Do(func() {
			if err := errors.Join(errs...); err != nil {
				slog.Warn("no sound card; using the null audio device", "errors", err)
			} else {
				slog.Warn("no sound card; using the null audio device")
			}
		})
	}
	if err := d.init(BackendNull, kind, ""); err != nil {
		return nil, fmt.Errorf("audio: null %s device: %w", kindName(kind), err)
	}
	return d, nil
}

func kindName(k malgo.DeviceType) string {
	if k == malgo.Capture {
		return "capture"
	}
	return "playback"
}

// pulsePlaybackPeriod is the playback period on PulseAudio (and
// PipeWire's pulse server): 30 ms. miniaudio asks the server for a target
// buffer (tlength) of one period, and the server plays silence whenever
// its buffer runs dry: every such underrun shifts what the microphone
// hears against what was played (the echo canceller's reference) by the
// silence inserted. Measured on a null sink at load average 10-14
// (docs/audio.md, "Echo cancellation"): with 10 ms the playback slipped
// 7-10 times in 6 s, by 96-669 ms in all; with 30 ms 2-3 times by 19-37
// ms. It adds 20 ms to the playback latency. (A variable: the echo test
// compares it with 10 ms in the same run.)
var pulsePlaybackPeriod uint32 = 3 * PeriodSamples

// devicePeriod is the period a device runs with: PeriodSamples, but
// pulsePlaybackPeriod for playback on PulseAudio.
func devicePeriod(b malgo.Backend, kind malgo.DeviceType) uint32 {
	if kind == malgo.Playback && b == malgo.BackendPulseaudio {
		return pulsePlaybackPeriod
	}
	return PeriodSamples
}

func (d *Device) init(b malgo.Backend, kind malgo.DeviceType, want string) error {
	ctx, err := newContext(b)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		_ = ctx.Uninit()
		ctx.Free()
		return err
	}
	cfg := deviceConfig(b, kind)
	sub := subConfig(&cfg, kind)
	d.name = "null"
	if b != BackendNull {
		d.name = "default"
	}
	if want != "" && want != "default" && b != BackendNull {
		infos, err := ctx.Devices(kind)
		if err != nil {
			return fail(err)
		}
		found := findDevice(infos, want)
		if found < 0 {
			return fail(fmt.Errorf("no device named %q", want))
		}
		id := infos[found].ID
		p := id.Pointer() // C memory: no Go pointer inside the C config
		defer C.free(p)
		sub.DeviceID = p
		d.name = infos[found].Name()
	}
	dev, err := malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{Data: d.callback})
	if err != nil {
		return fail(err)
	}
	d.ctx, d.dev, d.backend = ctx, dev, backendNames[b]
	return nil
}

// deviceConfig is the configuration of a kind device: 48 kHz 16-bit,
// Channels, three periods of PeriodSamples, low latency.
func deviceConfig(b malgo.Backend, kind malgo.DeviceType) malgo.DeviceConfig {
	cfg := malgo.DefaultDeviceConfig(kind)
	cfg.SampleRate = SampleRate
	cfg.PeriodSizeInFrames = devicePeriod(b, kind)
	cfg.Periods = 3
	cfg.PerformanceProfile = malgo.LowLatency
	sub := subConfig(&cfg, kind)
	sub.Format = malgo.FormatS16
	sub.Channels = Channels
	return cfg
}

// subConfig is the part of cfg for a kind device.
func subConfig(cfg *malgo.DeviceConfig, kind malgo.DeviceType) *malgo.SubConfig {
	if kind == malgo.Playback {
		return &cfg.Playback
	}
	return &cfg.Capture
}

// findDevice returns the index of the device named want (lower case):
// the name itself, else the first name containing it; -1 if none.
func findDevice(infos []malgo.DeviceInfo, want string) int {
	for i, in := range infos {
		if strings.ToLower(in.Name()) == want {
			return i
		}
	}
	for i, in := range infos {
		if strings.Contains(strings.ToLower(in.Name()), want) {
			return i
		}
	}
	return -1
}

// callback runs on the device's thread: it only copies between the
// device buffer and the ring, and wakes the frame goroutine. As a guard
// against devices that run unpaced (ALSA's "null" PCM), it sleeps when
// the device gets more than 100 ms ahead of the wall clock.
func (d *Device) callback(out, in []byte, frames uint32) {
	if len(in) >= 2 {
		d.ring.Write(unsafe.Slice((*int16)(unsafe.Pointer(&in[0])), len(in)/2))
	}
	if len(out) >= 2 {
		pcm := unsafe.Slice((*int16)(unsafe.Pointer(&out[0])), len(out)/2)
		d.ring.Read(pcm, true)
		if tap := d.played.Load(); tap != nil {
			(*tap)(pcm)
		}
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
	n := d.frames.Add(int64(frames))
	if d.start.IsZero() {
		d.start = time.Now()
		return
	}
	ahead := time.Duration(n)*time.Second/SampleRate - time.Since(d.start)
	if ahead > 100*time.Millisecond {
		time.Sleep(ahead - 50*time.Millisecond)
	}
}

// Close stops and releases the device and waits for its goroutine.
func (d *Device) Close() error {
	d.once.Do(func() {
		if d.dev != nil {
			_ = d.dev.Stop()
			d.dev.Uninit()
		}
		close(d.stop)
		<-d.done
		if d.ctx != nil {
			_ = d.ctx.Uninit()
			d.ctx.Free()
		}
	})
	return nil
}
