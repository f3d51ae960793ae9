// Package audio is termcall's client audio: devices (malgo/miniaudio),
// Opus encoding and decoding, the adaptive jitter buffer, the mixer and
// level meters, echo cancellation and noise suppression (WebRTC's audio
// processing through audio/webrtcap on Linux, or speexdsp),
// sources and sinks (tones, WAV, Ogg Opus, silence) and ringtones.
//
// Inside, audio is 48 kHz mono int16 in 20 ms frames (FrameSamples =
// 960); devices run with a 10 ms period (PeriodSamples = 480). The
// pipeline (docs/audio.md, "Pipeline"):
//
//	capture -> EchoCanceller -> Level -> Encoder -> RTP
//	RTP per user -> JitterBuffer (Decoder, FEC/PLC) -> Level -> Mixer -> playback
//
// # Build requirements
//
// The package uses cgo (only audio/ and video/ may):
//
//   - gopkg.in/hraban/opus.v2: libopus-dev, and libopusfile-dev unless
//     built with -tags nolibopusfile. This package never uses
//     libopusfile itself (Ogg Opus is read with package audio/ogg and the
//     Opus decoder), so -tags nolibopusfile works: only the
//     cross-check test in opusfile_test.go needs libopusfile.
//   - github.com/gen2brain/malgo (miniaudio, compiled from C: about 60 s
//     cold, again under -race). It dlopens the sound libraries at run
//     time; nothing extra is needed to build.
//   - speexdsp through pkg-config: libspeexdsp-dev and pkg-config.
//   - on Linux, audio/webrtcap: libwebrtc-audio-processing-dev (0.3) and
//     g++ (build tag nowebrtcap leaves it out).
//
// On Debian/Ubuntu: apt-get install gcc g++ pkg-config libopus-dev
// libopusfile-dev libspeexdsp-dev libwebrtc-audio-processing-dev.
//
// Subpackages audio/ogg (Ogg pages, OpusHead/OpusTags) and
// audio/audiotest (signal generators and analyzers for tests) are pure
// Go and usable from cgo-free packages.
//
// # Devices
//
// OpenCapture and OpenPlayback always pass miniaudio an explicit backend
// (malgo's BackendNull constant is wrong; the real null backend is
// malgo.Backend(14), BackendNull here): on Linux PulseAudio only when a
// server socket exists, ALSA only when /proc/asound/cards lists a card,
// never JACK (miniaudio's default init can crash with libpulse/libjack
// installed and no servers; ALSA's "null" PCM runs unpaced). Without a
// usable device they fall back to the null backend, which miniaudio
// paces in real time, and log once "no sound card; using the null audio
// device". The device callback only copies into or out of a ring buffer;
// frames are delivered or requested on a separate goroutine. As a last
// guard the callback sleeps if a device ever runs ahead of the wall
// clock by more than 100 ms.
//
// # Names
//
// Open parses source names (null, tone:440, tone:440:3s, ring, ringback,
// file:PATH, PATH.wav, PATH.ogg) and Create sink names (null, PATH.wav,
// PATH.ogg, file:PATH). Files are decoded completely at Open (up to
// MaxFileDuration), so a corrupt or unsupported file fails there with an
// error wrapping ErrBadFile, before anything plays. WAV input of any
// rate is resampled to 48 kHz with a Kaiser-windowed sinc (see
// resample.go); channels are averaged.
//
// Resample is kept over speexdsp's resampler and audio/ogg over pion's Ogg
// reader and writer after measuring them (docs/audio.md, "Ogg and the
// resampler"): both ours are past 16-bit PCM's noise floor and faster.
package audio
