package protocol

// The reference's video resolution codes (TUICallDefine.Resolution,
// VideoEncoderParams.resolution), landscape sizes, with its recommended
// bitrates for a video call.
const (
	Resolution640x360   = 108
	Resolution640x480   = 62
	Resolution960x540   = 110
	Resolution960x720   = 64
	Resolution1280x720  = 112
	Resolution1920x1080 = 114
)

// The reference's resolution modes (VideoEncoderParams.resolutionMode).
const (
	ResolutionModeLandscape = 0
	ResolutionModePortrait  = 1
)

type resolution struct{ code, w, h, kbps int }

var resolutions = []resolution{
	{Resolution640x360, 640, 360, 500},
	{Resolution640x480, 640, 480, 600},
	{Resolution960x540, 960, 540, 850},
	{Resolution960x720, 960, 720, 1000},
	{Resolution1280x720, 1280, 720, 1200},
	{Resolution1920x1080, 1920, 1080, 2000},
}

// ResolutionSize returns the frame size and recommended bitrate (kbps) of
// a resolution code; portrait swaps width and height. ok is false for an
// unknown code.
func ResolutionSize(code int, portrait bool) (w, h, kbps int, ok bool) {
	for _, r := range resolutions {
		if r.code == code {
			if portrait {
				return r.h, r.w, r.kbps, true
			}
			return r.w, r.h, r.kbps, true
		}
	}
	return 0, 0, 0, false
}

// ResolutionCodes lists the known codes, smallest first.
func ResolutionCodes() []int {
	out := make([]int, len(resolutions))
	for i, r := range resolutions {
		out[i] = r.code
	}
	return out
}
