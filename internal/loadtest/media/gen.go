//go:build ignore

// gen writes the pre-encoded media the load generator sends: two seconds
// of a speech-like signal as 20 ms Opus frames (termcall's encoder
// settings: 32 kbps, in-band FEC) and two seconds of the test pattern as
// 640x360 VP8 at 15 fps (the first frame a keyframe). Run it from this
// directory with `go run gen.go` (it needs cgo, libopus and libvpx).
//
// The container is a sequence of frames, each a 4-byte big-endian length
// and the frame's bytes.
package main

import (
	"encoding/binary"
	"log"
	"os"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/video"
)

func main() {
	enc, err := audio.NewEncoder()
	if err != nil {
		log.Fatal(err)
	}
	pcm := audiotest.Speech(7, 2*audio.SampleRate, audio.SampleRate)
	var opus []byte
	buf := make([]byte, 4000)
	for off := 0; off+audio.FrameSamples <= len(pcm); off += audio.FrameSamples {
		n, err := enc.Encode(pcm[off:off+audio.FrameSamples], buf)
		if err != nil {
			log.Fatal(err)
		}
		opus = appendFrame(opus, buf[:n])
	}
	if err := os.WriteFile("opus.bin", opus, 0o644); err != nil {
		log.Fatal(err)
	}

	venc, err := video.NewEncoder(video.EncoderParams{Width: 640, Height: 360, FPS: 15})
	if err != nil {
		log.Fatal(err)
	}
	defer venc.Close()
	var vp8 []byte
	for i := range 30 {
		frame, _, err := venc.Encode(video.PatternFrame(640, 360, i))
		if err != nil {
			log.Fatal(err)
		}
		vp8 = appendFrame(vp8, frame)
	}
	if err := os.WriteFile("vp8.bin", vp8, 0o644); err != nil {
		log.Fatal(err)
	}
}

func appendFrame(b, f []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
	return append(b, f...)
}
