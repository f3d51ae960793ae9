//go:build !nolibopusfile

package audio

import (
	"bytes"
	"errors"
	"io"
	"math"
	"testing"

	"gopkg.in/hraban/opus.v2"

	"github.com/termcall/termcall/audio/audiotest"
)

// TestOggOpusLibopusfile checks our Ogg Opus files with an independent
// reader: libopusfile (through hraban/opus's Stream).
func TestOggOpusLibopusfile(t *testing.T) {
	n := 2*SampleRate + 333
	b := oggBytes(t, audiotest.Tone(1000, 0.3, n, SampleRate))
	s, err := opus.NewStream(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got []int16
	buf := make([]int16, 5760)
	for {
		k, err := s.Read(buf)
		if errors.Is(err, io.EOF) || k == 0 {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:k]...)
	}
	if len(got) != n {
		t.Errorf("libopusfile decoded %d samples, want %d", len(got), n)
	}
	if f := audiotest.ToneFreq(got, SampleRate); math.Abs(f-1000) > 1 {
		t.Errorf("tone at %.2f Hz", f)
	}
}
