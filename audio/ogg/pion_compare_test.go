package ogg

// Ours or pion's (pkg/media/oggreader, oggwriter)? Issue 14 item 7. These
// tests and benchmarks hold the measurements behind the decision recorded
// in the package doc and docs/audio.md ("Ogg: ours or pion's"):
//
//	go test -run TestPion -v ./audio/ogg
//	go test -run '^$' -bench 'Ogg(Read|Write)' -benchmem ./audio/ogg

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"
	"github.com/pion/webrtc/v4/pkg/media/oggwriter"
)

// opusPackets is 10 s of 20 ms CELT fullband packets (TOC 0xF8: config 31,
// one frame) of realistic sizes (40..120 bytes, a 24 kbit/s voice stream).
func opusPackets() [][]byte {
	ps := make([][]byte, 500)
	for i := range ps {
		p := make([]byte, 40+(i*53)%81)
		p[0] = 0xF8
		for j := 1; j < len(p); j++ {
			p[j] = byte(i*7 + j)
		}
		ps[i] = p
	}
	return ps
}

func writeOurs(tb testing.TB, ps [][]byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	w := NewWriter(&b, 1)
	head := OpusHead{Version: 1, Channels: 1, PreSkip: 312, InputSampleRate: 48000}
	if err := w.WritePacket(head.Marshal(), 0); err != nil {
		tb.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := w.WritePacket(OpusTags("termcall"), 0); err != nil {
		tb.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	for i, p := range ps {
		if err := w.WritePacket(p, int64(312+960*(i+1))); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// writePion writes the packets with pion's writer, which takes RTP packets
// (the only way in): one Ogg page per packet.
func writePion(tb testing.TB, ps [][]byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	w, err := oggwriter.NewWith(&b, 48000, 1)
	if err != nil {
		tb.Fatal(err)
	}
	for i, p := range ps {
		if err := w.WriteRTP(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(i), Timestamp: uint32(960 * i)}, Payload: p}); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func readOurs(tb testing.TB, b []byte) [][]byte {
	tb.Helper()
	r := NewReader(bytes.NewReader(b))
	var out [][]byte
	for {
		p, err := r.NextPacket()
		if errors.Is(err, io.EOF) {
			return out[2:] // OpusHead, OpusTags
		}
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, p.Data)
	}
}

// TestPionOggReaderPages: pion's reader hands out page payloads with the
// lacing values dropped, so the packets of a page run together. Files that
// opusenc, ffmpeg and our writer make carry many packets per page: read
// with pion's reader they cannot be split. Ours returns every packet.
func TestPionOggReaderPages(t *testing.T) {
	ps := opusPackets()
	file := writeOurs(t, ps)
	got := readOurs(t, file)
	if len(got) != len(ps) || !bytes.Equal(got[123], ps[123]) {
		t.Fatalf("our reader: %d packets, want %d", len(got), len(ps))
	}
	r, _, err := oggreader.NewWith(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	pages := 0
	for {
		_, _, err := r.ParseNextPage()
		if err != nil {
			break
		}
		pages++
	}
	t.Logf("%d packets: our reader %d packets; pion's reader %d page payloads (packets not separable)", len(ps), len(got), pages)
	if pages >= len(ps) {
		t.Errorf("pion's reader gave %d payloads for %d packets: the comparison no longer holds, revisit the decision", pages, len(ps))
	}
}

// TestPionOggWriterSize: pion's writer puts each packet on a page of its
// own (27+ bytes of header per 20 ms); ours fills pages of up to 50. Both
// files read back to the same packets with our reader.
func TestPionOggWriterSize(t *testing.T) {
	ps := opusPackets()
	ours, theirs := writeOurs(t, ps), writePion(t, ps)
	got := readOurs(t, theirs)
	if len(got) != len(ps) || !bytes.Equal(got[321], ps[321]) {
		t.Fatalf("pion's file read back: %d packets, want %d", len(got), len(ps))
	}
	payload := 0
	for _, p := range ps {
		payload += len(p)
	}
	t.Logf("10 s, %d B of Opus: ours %d B (+%.1f%%), pion %d B (+%.1f%%)", payload,
		len(ours), 100*float64(len(ours)-payload)/float64(payload), len(theirs), 100*float64(len(theirs)-payload)/float64(payload))
	if len(ours) >= len(theirs) {
		t.Errorf("ours %d B is not smaller than pion's %d B: revisit the decision", len(ours), len(theirs))
	}
}

func BenchmarkOggWriteOurs(b *testing.B) {
	ps := opusPackets()
	for b.Loop() {
		writeOurs(b, ps)
	}
}

func BenchmarkOggWritePion(b *testing.B) {
	ps := opusPackets()
	for b.Loop() {
		writePion(b, ps)
	}
}

// Reading pages only (what pion's reader does), on the same file.
func BenchmarkOggReadPagesOurs(b *testing.B) {
	file := writeOurs(b, opusPackets())
	for b.Loop() {
		r := NewReader(bytes.NewReader(file))
		for {
			if _, err := r.ReadPage(); err != nil {
				break
			}
		}
	}
}

func BenchmarkOggReadPagesPion(b *testing.B) {
	file := writeOurs(b, opusPackets())
	for b.Loop() {
		r, _, err := oggreader.NewWith(bytes.NewReader(file))
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, _, err := r.ParseNextPage(); err != nil {
				break
			}
		}
	}
}
