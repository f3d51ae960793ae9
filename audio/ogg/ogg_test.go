package ogg

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCRC(t *testing.T) {
	// the CRC of a page with its checksum field included is not zero for
	// Ogg (no reflection); check a known vector instead: "OggS" page of libogg
	if got := CRC(0, []byte("123456789")); got != 0x89a1897f {
		t.Errorf("CRC(123456789) = %#x, want 0x89a1897f", got)
	}
}

func TestRoundTrip(t *testing.T) {
	head := OpusHead{Version: 1, Channels: 1, PreSkip: 312, InputSampleRate: 48000}
	stream, want := writeTestOgg(t, head)
	checkOggPackets(t, stream, head, want)
	// corrupt one byte: CRC error
	b := bytes.Clone(stream)
	b[len(b)-3] ^= 0x40
	r := NewReader(bytes.NewReader(b))
	var err error
	for err == nil {
		_, err = r.NextPacket()
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("corrupt stream: %v", err)
	}
}

// writeTestOgg writes an Ogg Opus stream: head, tags, then 120 packets of
// varied sizes (one an exact multiple of 255) 960 samples apart. It
// returns the stream and the packets.
func writeTestOgg(t *testing.T, head OpusHead) ([]byte, [][]byte) {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, 42)
	if err := w.WritePacket(head.Marshal(), 0); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := w.WritePacket(OpusTags("x", "A=b"), 0); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	var want [][]byte
	for i := 0; i < 120; i++ {
		p := bytes.Repeat([]byte{byte(i)}, (i*37)%700+1)
		if i == 7 {
			p = bytes.Repeat([]byte{7}, 510) // exact multiple of 255
		}
		want = append(want, p)
		if err := w.WritePacket(p, int64(312+960*(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), want
}

// checkOggPackets reads the stream back: head, tags, the packets whole,
// the last one end of stream at its granule.
func checkOggPackets(t *testing.T, stream []byte, head OpusHead, want [][]byte) {
	t.Helper()
	r := NewReader(bytes.NewReader(stream))
	p, err := r.NextPacket()
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseOpusHead(p.Data)
	if err != nil || h != head {
		t.Fatalf("head %+v %v", h, err)
	}
	if p, _ := r.NextPacket(); !IsOpusTags(p.Data) {
		t.Fatal("no OpusTags")
	}
	var got [][]byte
	var last Packet
	for {
		p, err := r.NextPacket()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Data)
		last = p
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packets differ:\n%s", diff)
	}
	if !last.EOS || last.Granule != 312+960*120 {
		t.Errorf("last packet %v granule %d", last.EOS, last.Granule)
	}
}
