// Package ogg reads and writes Ogg pages (RFC 3533) and the Ogg Opus
// header packets (RFC 7845). It is pure Go: it carries Opus packets
// without decoding them, so cgo-free code (e.g. the engine sending a
// pre-encoded file) can use it; package audio decodes and encodes.
//
// pion's pkg/media/oggreader and oggwriter were measured against this
// package and not taken (docs/audio.md, "Ogg and the resampler"): pion's
// reader cannot split the packets of a page, its writer takes RTP packets
// and puts one packet per page (+35 % on a voice file, against +2 %).
package ogg

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrCorrupt is wrapped by every error about malformed Ogg data.
var ErrCorrupt = errors.New("ogg: corrupt stream")

// Header type flags of a page.
const (
	FlagContinued = 0x01
	FlagBOS       = 0x02
	FlagEOS       = 0x04
)

var crcTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for j := 0; j < 8; j++ {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

// CRC computes the Ogg page checksum (polynomial 0x04c11db7, no
// reflection, initial value 0).
func CRC(crc uint32, b []byte) uint32 {
	for _, x := range b {
		crc = crc<<8 ^ crcTable[byte(crc>>24)^x]
	}
	return crc
}

// Page is one Ogg page.
type Page struct {
	Flags    byte
	Granule  int64
	Serial   uint32
	Sequence uint32
	Segments []byte // lacing values
	Body     []byte
}

// Writer writes one logical Ogg stream. Packets are gathered into pages
// of up to MaxPacketsPerPage packets; a page is written when it is full,
// on Flush, or (flagged end-of-stream) on Close.
type Writer struct {
	w                 io.Writer
	serial            uint32
	seq               uint32
	started           bool
	segs              []byte
	body              []byte
	granule           int64
	packets           int
	MaxPacketsPerPage int // default 50 (1 s of 20 ms Opus frames)
}

// NewWriter returns a Writer of the stream with the given serial number.
func NewWriter(w io.Writer, serial uint32) *Writer {
	return &Writer{w: w, serial: serial, MaxPacketsPerPage: 50}
}

// WritePacket adds a packet; granule is the granule position after it
// (for Opus: 48 kHz samples decodable up to the end of this packet,
// pre-skip included).
func (w *Writer) WritePacket(p []byte, granule int64) error {
	nseg := len(p)/255 + 1
	if nseg > 255 {
		return fmt.Errorf("ogg: packet of %d bytes too large", len(p))
	}
	if w.packets > 0 && (len(w.segs)+nseg > 255 || w.packets >= w.MaxPacketsPerPage) {
		if err := w.flush(0); err != nil {
			return err
		}
	}
	for i := 0; i < nseg-1; i++ {
		w.segs = append(w.segs, 255)
	}
	w.segs = append(w.segs, byte(len(p)%255))
	w.body = append(w.body, p...)
	w.granule = granule
	w.packets++
	return nil
}

// Flush writes the pending packets as a page (headers must end their
// page: flush after them).
func (w *Writer) Flush() error {
	if w.packets == 0 {
		return nil
	}
	return w.flush(0)
}

// Close writes the last page, flagged end-of-stream. It does not close
// the underlying writer.
func (w *Writer) Close() error {
	return w.flush(FlagEOS)
}

func (w *Writer) flush(flags byte) error {
	if !w.started {
		flags |= FlagBOS
		w.started = true
	}
	hdr := make([]byte, 27, 27+len(w.segs))
	copy(hdr, "OggS")
	hdr[4] = 0
	hdr[5] = flags
	binary.LittleEndian.PutUint64(hdr[6:], uint64(w.granule))
	binary.LittleEndian.PutUint32(hdr[14:], w.serial)
	binary.LittleEndian.PutUint32(hdr[18:], w.seq)
	hdr[26] = byte(len(w.segs))
	hdr = append(hdr, w.segs...)
	crc := CRC(CRC(0, hdr), w.body)
	binary.LittleEndian.PutUint32(hdr[22:], crc)
	w.seq++
	if _, err := w.w.Write(hdr); err != nil {
		return err
	}
	if _, err := w.w.Write(w.body); err != nil {
		return err
	}
	w.segs, w.body, w.packets = w.segs[:0], w.body[:0], 0
	return nil
}

// Reader reads the packets of the first logical stream of an Ogg file
// (pages of other streams are skipped). Every page's CRC is checked.
type Reader struct {
	r       *bufio.Reader
	serial  uint32
	started bool
	page    Page
	segIdx  int
	bodyOff int
	partial []byte
	eos     bool
	pages   int
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10)}
}

// ReadPage reads the next page of any stream.
func (r *Reader) ReadPage() (*Page, error) {
	var hdr [27]byte
	if _, err := io.ReadFull(r.r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("%w: truncated page header", ErrCorrupt)
	}
	if string(hdr[:4]) != "OggS" {
		return nil, fmt.Errorf("%w: no page capture pattern (not an Ogg file?)", ErrCorrupt)
	}
	if hdr[4] != 0 {
		return nil, fmt.Errorf("%w: page version %d", ErrCorrupt, hdr[4])
	}
	p := &Page{
		Flags:    hdr[5],
		Granule:  int64(binary.LittleEndian.Uint64(hdr[6:])),
		Serial:   binary.LittleEndian.Uint32(hdr[14:]),
		Sequence: binary.LittleEndian.Uint32(hdr[18:]),
	}
	want := binary.LittleEndian.Uint32(hdr[22:])
	p.Segments = make([]byte, hdr[26])
	if _, err := io.ReadFull(r.r, p.Segments); err != nil {
		return nil, fmt.Errorf("%w: truncated lacing table", ErrCorrupt)
	}
	n := 0
	for _, s := range p.Segments {
		n += int(s)
	}
	p.Body = make([]byte, n)
	if _, err := io.ReadFull(r.r, p.Body); err != nil {
		return nil, fmt.Errorf("%w: truncated page body", ErrCorrupt)
	}
	hdr[22], hdr[23], hdr[24], hdr[25] = 0, 0, 0, 0
	if got := CRC(CRC(CRC(0, hdr[:]), p.Segments), p.Body); got != want {
		return nil, fmt.Errorf("%w: page %d checksum mismatch", ErrCorrupt, p.Sequence)
	}
	r.pages++
	return p, nil
}

// Packet is one packet of the stream.
type Packet struct {
	Data []byte
	// Granule is the granule position of the page the packet ends on if
	// it is the last packet ending there, else -1.
	Granule int64
	// EOS reports the last packet of the stream.
	EOS bool
}

// NextPacket returns the next packet of the first stream, or io.EOF.
func (r *Reader) NextPacket() (Packet, error) {
	for {
		if r.segIdx < len(r.page.Segments) {
			if pkt, ok := r.nextSegment(); ok {
				return pkt, nil
			}
			continue
		}
		if r.eos {
			return Packet{}, io.EOF
		}
		p, err := r.ReadPage()
		if errors.Is(err, io.EOF) {
			if len(r.partial) > 0 {
				return Packet{}, fmt.Errorf("%w: stream ends inside a packet", ErrCorrupt)
			}
			return Packet{}, io.EOF
		}
		if err != nil {
			return Packet{}, err
		}
		ours, err := r.takePage(p)
		if err != nil {
			return Packet{}, err
		}
		if ours {
			r.page, r.segIdx, r.bodyOff = *p, 0, 0
		}
	}
}

// nextSegment appends the page's next segment to the packet being read;
// a segment under 255 bytes ends the packet, which it returns.
func (r *Reader) nextSegment() (Packet, bool) {
	s := r.page.Segments[r.segIdx]
	r.partial = append(r.partial, r.page.Body[r.bodyOff:r.bodyOff+int(s)]...)
	r.bodyOff += int(s)
	r.segIdx++
	if s == 255 {
		return Packet{}, false
	}
	pkt := Packet{Data: r.partial, Granule: -1}
	r.partial = nil
	if !r.moreEndsOnPage() {
		pkt.Granule = r.page.Granule
		pkt.EOS = r.page.Flags&FlagEOS != 0
	}
	return pkt, true
}

// takePage checks page p against the stream: the first page begins the
// stream read; pages of other multiplexed streams are skipped (false). A
// page not continuing a packet in progress is corrupt.
func (r *Reader) takePage(p *Page) (bool, error) {
	if !r.started {
		if p.Flags&FlagBOS == 0 {
			return false, fmt.Errorf("%w: first page is not a beginning of stream", ErrCorrupt)
		}
		r.started, r.serial = true, p.Serial
	} else if p.Serial != r.serial {
		return false, nil // another multiplexed stream
	}
	if p.Flags&FlagContinued == 0 && len(r.partial) > 0 {
		return false, fmt.Errorf("%w: packet interrupted by a new page", ErrCorrupt)
	}
	if p.Flags&FlagEOS != 0 {
		r.eos = true
	}
	return true, nil
}

func (r *Reader) moreEndsOnPage() bool {
	for _, s := range r.page.Segments[r.segIdx:] {
		if s < 255 {
			return true
		}
	}
	return false
}

// OpusHead is the Ogg Opus identification header (RFC 7845 §5.1).
type OpusHead struct {
	Version         uint8
	Channels        uint8
	PreSkip         uint16
	InputSampleRate uint32
	OutputGain      int16 // Q7.8 dB
	MappingFamily   uint8
}

// Marshal encodes the header (mapping family 0 only).
func (h OpusHead) Marshal() []byte {
	b := make([]byte, 19)
	copy(b, "OpusHead")
	b[8] = h.Version
	b[9] = h.Channels
	binary.LittleEndian.PutUint16(b[10:], h.PreSkip)
	binary.LittleEndian.PutUint32(b[12:], h.InputSampleRate)
	binary.LittleEndian.PutUint16(b[16:], uint16(h.OutputGain))
	b[18] = h.MappingFamily
	return b
}

// ParseOpusHead decodes an identification header.
func ParseOpusHead(b []byte) (OpusHead, error) {
	if len(b) < 19 || string(b[:8]) != "OpusHead" {
		return OpusHead{}, fmt.Errorf("%w: first packet is not OpusHead (not an Opus stream?)", ErrCorrupt)
	}
	h := OpusHead{
		Version:         b[8],
		Channels:        b[9],
		PreSkip:         binary.LittleEndian.Uint16(b[10:]),
		InputSampleRate: binary.LittleEndian.Uint32(b[12:]),
		OutputGain:      int16(binary.LittleEndian.Uint16(b[16:])),
		MappingFamily:   b[18],
	}
	if h.Version>>4 != 0 {
		return h, fmt.Errorf("%w: unsupported Ogg Opus version %d", ErrCorrupt, h.Version)
	}
	if h.Channels == 0 {
		return h, fmt.Errorf("%w: OpusHead with 0 channels", ErrCorrupt)
	}
	return h, nil
}

// OpusTags encodes a comment header (RFC 7845 §5.2).
func OpusTags(vendor string, comments ...string) []byte {
	b := []byte("OpusTags")
	b = binary.LittleEndian.AppendUint32(b, uint32(len(vendor)))
	b = append(b, vendor...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(comments)))
	for _, c := range comments {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(c)))
		b = append(b, c...)
	}
	return b
}

// IsOpusTags reports whether b is a comment header.
func IsOpusTags(b []byte) bool {
	return len(b) >= 16 && string(b[:8]) == "OpusTags"
}
