package loadtest

import (
	_ "embed"
	"encoding/binary"
	"fmt"
)

// The media the load generator sends, encoded once by media/gen.go:
// 2 s of a speech-like signal as 20 ms Opus frames with termcall's own
// encoder settings (32 kbps, in-band FEC; about 72 bytes a frame), and 2 s
// of termcall's test pattern as 640x360 VP8 at 15 fps (about 440 kbps,
// the first frame a keyframe). Both loop.
var (
	//go:embed media/opus.bin
	opusBin []byte
	//go:embed media/vp8.bin
	vp8Bin []byte
)

var (
	opusFrames = mustFrames(opusBin)
	vp8Frames  = mustFrames(vp8Bin)
)

const (
	audioFrameTicks = 960   // 20 ms at 48 kHz
	videoFPS        = 15    // of vp8.bin
	videoClockRate  = 90000 // VP8's RTP clock
	audioClockRate  = 48000
	rtpMTU          = 1200 // payload bytes per video RTP packet
)

// splitFrames parses the fixtures' container: each frame is a 4-byte
// big-endian length and its bytes.
func splitFrames(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("loadtest: truncated frame header")
		}
		n := int(binary.BigEndian.Uint32(b))
		b = b[4:]
		if n <= 0 || n > len(b) {
			return nil, fmt.Errorf("loadtest: bad frame length %d", n)
		}
		out = append(out, b[:n:n])
		b = b[n:]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("loadtest: no frames")
	}
	return out, nil
}

func mustFrames(b []byte) [][]byte {
	f, err := splitFrames(b)
	if err != nil {
		panic(err)
	}
	return f
}
