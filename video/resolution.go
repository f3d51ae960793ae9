package video

import "github.com/termcall/termcall/protocol"

// DefaultFPS is the reference's default video frame rate.
const DefaultFPS = 15

// The reference's resolution codes and modes (see protocol).
const (
	Resolution640x360   = protocol.Resolution640x360
	Resolution640x480   = protocol.Resolution640x480
	Resolution960x540   = protocol.Resolution960x540
	Resolution960x720   = protocol.Resolution960x720
	Resolution1280x720  = protocol.Resolution1280x720
	Resolution1920x1080 = protocol.Resolution1920x1080

	ResolutionModeLandscape = protocol.ResolutionModeLandscape
	ResolutionModePortrait  = protocol.ResolutionModePortrait
)

// ResolutionSize returns the frame size and target bitrate of a
// reference resolution code; portrait swaps width and height.
func ResolutionSize(code int, portrait bool) (w, h, kbps int, ok bool) {
	return protocol.ResolutionSize(code, portrait)
}

// ResolutionCodes lists the known resolution codes, smallest first.
func ResolutionCodes() []int { return protocol.ResolutionCodes() }

// EncoderParamsFor returns encoder parameters for a resolution code and
// mode (0 landscape, 1 portrait) at fps (0: DefaultFPS).
func EncoderParamsFor(code, mode, fps int) (EncoderParams, bool) {
	w, h, kbps, ok := ResolutionSize(code, mode == ResolutionModePortrait)
	if !ok {
		return EncoderParams{}, false
	}
	if fps <= 0 {
		fps = DefaultFPS
	}
	return EncoderParams{Width: w, Height: h, FPS: fps, BitrateKbps: kbps}, true
}

// bitrateForSize picks the table bitrate of the nearest size by pixel
// count (500 kbps for anything up to 640x360).
func bitrateForSize(w, h int) int {
	px := w * h
	kbps := 0
	for _, code := range protocol.ResolutionCodes() {
		rw, rh, k, _ := protocol.ResolutionSize(code, false)
		if kbps == 0 || rw*rh <= px {
			kbps = k
		}
	}
	return kbps
}
