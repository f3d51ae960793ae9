// Package video is termcall's client video: sources (camera, test
// pattern, Y4M and IVF files), VP8 encoding and decoding, RTP
// packetization and frame assembly, scaling and rotation, and a terminal
// renderer. The pipeline (docs/video.md):
//
//	Source (camera | pattern: | file) -> Encoder (VP8) -> track
//	RTP per remote user -> FrameAssembler -> Decoder -> Fit -> Renderer
//
// Sender and Receiver wire these for the engine.
//
// # Build requirements
//
// cgo, pkg-config and libvpx-dev (apt-get install libvpx-dev). The
// camera driver (mediadevices, V4L2 on Linux) also needs the kernel
// headers from linux-libc-dev (installed with libc6-dev).
//
// # Colour space
//
// Every YCbCr image here is 4:2:0, BT.601 video range (Y 16-235), which
// is what VP8 and WebRTC carry; Fit and ToI420 convert accordingly (use
// YCbCrToRGB, not image/color's full-range YCbCr.RGBA, for exact
// colours).
//
// # Sources
//
// Open names sources like the audio package: "pattern:" (640x360, or
// "pattern:WxH[@FPS]"), "camera:[DEVICE]", "file:PATH", "PATH.y4m",
// "PATH.ivf". The pattern is a deterministic function of the frame
// index (PatternFrame, PatternGeometry). Cameras come from
// github.com/pion/mediadevices/pkg/driver/camera only: the microphone
// driver is never imported (it starts malgo in init). Without a camera,
// Open("camera:") fails with an error wrapping ErrNoCamera and Devices
// returns an empty list. Cameras maps the reference's front and back
// cameras to two configurable names. Non-live sources are not paced:
// wrap them with Paced (Sender paces by itself).
//
// # VP8
//
// Encoder and Decoder call libvpx directly through cgo rather than
// through mediadevices' pkg/codec/vpx. mediadevices' encoder is pull
// based (it reads frames from a video.Reader), times frames by the wall
// clock (so rate control depends on how fast frames are pushed, which
// makes files and tests non-deterministic) and re-applies its config on
// every frame; its decoder copies each input into a fixed 1 MiB buffer.
// The direct binding is ~300 lines: one-pass CBR, lag 0, error
// resilient, one token partition, cpu-used -8 (realtime), frame
// dropping off, keyframes every 10 s at most plus on demand
// (ForceKeyframe, for PLI/FIR), bitrate changes at run time through
// vpx_codec_enc_config_set (SetBitrate, for congestion control).
// Timestamps are frame counts at the configured FPS. Encode accepts any
// image and converts (scales to fill and crops) when it is not 4:2:0 of
// the encoder's size. ResolutionSize and EncoderParamsFor implement the
// reference's resolution table (108, 62, 110, 64, 112, 114) and
// resolution mode (portrait swaps the sides).
//
// Decoder.Decode takes exactly one whole VP8 frame. Until a keyframe
// has been decoded, and after a corrupt frame, it fails with an error
// wrapping ErrNeedKeyframe (send a PLI).
//
// # RTP
//
// Sending can use pion's webrtc.TrackLocalStaticSample with whole frames
// (it packetizes VP8 itself with codecs.VP8Payloader); NewPacketizer
// gives the same packetizer for a TrackLocalStaticRTP. Receiving uses
// FrameAssembler (codecs.VP8Packet): it reorders within a window, drops
// broken frames and everything up to the next keyframe after a loss, and
// says when to request a keyframe; NACK retransmissions (pion's
// interceptors) fill gaps before it gives up.
//
// # Rendering
//
// Renderer draws into a cols x rows cell area: truecolor half-blocks
// (▀, foreground = top pixel, background = bottom pixel), 256-colour
// and grey half-blocks, a plain ASCII ramp (NO_COLOR, TERM=dumb), the
// kitty graphics protocol (zlib-compressed RGB, base64 in 4096-byte
// chunks, replaced in place by image ID) and sixel (fixed 6x6x6
// palette). DetectMode picks one from the environment;
// TERMCALL_VIDEO_RENDER overrides it. Fill mode and rotation follow the
// reference's render params (FillMode 0 fill, 1 fit; Rotation 0-3 =
// 0/90/180/270 degrees clockwise).
//
// # Ours or the libraries'
//
// The IVF reader and writer, the sixel and the kitty encoders are this
// package's own, kept after measuring pion's ivfreader/ivfwriter and
// charmbracelet/x/ansi's sixel and kitty encoders against them
// (docs/video.md, "IVF and terminal pictures"): pion's reader allocates
// what a bad frame header claims and its writer takes RTP only; x/ansi's
// sixels look better but take about 100 times as long per picture, and its
// kitty encoder sends the same pixels 3-7 times slower.
package video
