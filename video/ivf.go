package video

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// maxIVFFrame bounds one IVF frame (a 4096x4096 raw frame is 24 MiB).
const maxIVFFrame = 32 << 20

// IVFHeader is the 32-byte IVF file header.
type IVFHeader struct {
	FourCC        string // "VP80"
	Width, Height int
	// The timebase of the frame timestamps is Scale/Rate seconds
	// (for a 15 fps file usually Rate 15, Scale 1).
	Rate, Scale int
	Frames      int // frame count (0 when unknown)
}

// FPS returns Rate/Scale when it is a plausible frame rate (1..120),
// else DefaultFPS.
func (h IVFHeader) FPS() int {
	if h.Scale > 0 {
		if f := (h.Rate + h.Scale/2) / h.Scale; f >= 1 && f <= 120 {
			return f
		}
	}
	return DefaultFPS
}

// IVFReader reads VP8 frames from an IVF stream without decoding them
// (an engine can send a pre-encoded file as is).
type IVFReader struct {
	r      *bufio.Reader
	Header IVFHeader
	hdr    [12]byte
	hlen   int64
}

// NewIVFReader parses the file header; only VP8 ("VP80") is accepted.
func NewIVFReader(r io.Reader) (*IVFReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var h [32]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, fmt.Errorf("%w: ivf header: %w", ErrBadFile, err)
	}
	if string(h[:4]) != "DKIF" {
		return nil, fmt.Errorf("%w: not an IVF file", ErrBadFile)
	}
	hl := int(binary.LittleEndian.Uint16(h[6:]))
	ir := &IVFReader{r: br, Header: IVFHeader{
		FourCC: string(h[8:12]),
		Width:  int(binary.LittleEndian.Uint16(h[12:])),
		Height: int(binary.LittleEndian.Uint16(h[14:])),
		Rate:   int(binary.LittleEndian.Uint32(h[16:])),
		Scale:  int(binary.LittleEndian.Uint32(h[20:])),
		Frames: int(binary.LittleEndian.Uint32(h[24:])),
	}}
	if ir.Header.FourCC != "VP80" {
		return nil, fmt.Errorf("%w: IVF codec %q (only VP80)", ErrBadFile, ir.Header.FourCC)
	}
	ir.hlen = int64(max(hl, 32))
	if hl > 32 {
		if _, err := br.Discard(hl - 32); err != nil {
			return nil, fmt.Errorf("%w: ivf header: %w", ErrBadFile, err)
		}
	}
	return ir, nil
}

// Next returns the next frame and its timestamp (in Header's timebase).
// It returns io.EOF at the end (a truncated last frame is dropped).
func (r *IVFReader) Next() (frame []byte, pts uint64, err error) {
	if _, err := io.ReadFull(r.r, r.hdr[:]); err != nil {
		return nil, 0, io.EOF
	}
	n := binary.LittleEndian.Uint32(r.hdr[:4])
	if n == 0 || n > maxIVFFrame {
		return nil, 0, fmt.Errorf("%w: ivf frame size %d", ErrBadFile, n)
	}
	frame = make([]byte, n)
	if _, err := io.ReadFull(r.r, frame); err != nil {
		return nil, 0, io.EOF
	}
	return frame, binary.LittleEndian.Uint64(r.hdr[4:]), nil
}

// Duration converts a frame timestamp to a duration.
func (r *IVFReader) Duration(pts uint64) time.Duration {
	if r.Header.Rate <= 0 || r.Header.Scale <= 0 {
		return time.Duration(pts) * time.Second / DefaultFPS
	}
	return time.Duration(pts) * time.Second * time.Duration(r.Header.Scale) / time.Duration(r.Header.Rate)
}

// IVFWriter writes VP8 frames to an IVF stream.
type IVFWriter struct {
	w      io.Writer
	frames int
	hdr    [12]byte
}

// NewIVFWriter writes the header of a width x height VP8 stream with
// timebase 1/fps (pass frame indexes as timestamps).
func NewIVFWriter(w io.Writer, width, height, fps int) (*IVFWriter, error) {
	if fps <= 0 {
		fps = DefaultFPS
	}
	var h [32]byte
	copy(h[:], "DKIF")
	binary.LittleEndian.PutUint16(h[6:], 32)
	copy(h[8:], "VP80")
	binary.LittleEndian.PutUint16(h[12:], uint16(width))
	binary.LittleEndian.PutUint16(h[14:], uint16(height))
	binary.LittleEndian.PutUint32(h[16:], uint32(fps))
	binary.LittleEndian.PutUint32(h[20:], 1)
	if _, err := w.Write(h[:]); err != nil {
		return nil, err
	}
	return &IVFWriter{w: w}, nil
}

// WriteFrame appends one whole VP8 frame.
func (w *IVFWriter) WriteFrame(frame []byte, pts uint64) error {
	binary.LittleEndian.PutUint32(w.hdr[:4], uint32(len(frame)))
	binary.LittleEndian.PutUint64(w.hdr[4:], pts)
	if _, err := w.w.Write(w.hdr[:]); err != nil {
		return err
	}
	_, err := w.w.Write(frame)
	w.frames++
	return err
}

// Close patches the frame count into the header when the underlying
// writer is an io.WriteSeeker, and closes it when it is an io.Closer.
func (w *IVFWriter) Close() error {
	var err error
	if ws, ok := w.w.(io.WriteSeeker); ok {
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(w.frames))
		if _, err = ws.Seek(24, io.SeekStart); err == nil {
			_, err = ws.Write(n[:])
		}
		if err == nil {
			_, err = ws.Seek(0, io.SeekEnd)
		}
	}
	if c, ok := w.w.(io.Closer); ok {
		if cerr := c.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// ivfSource decodes an IVF file.
type ivfSource struct {
	name string
	f    *os.File
	r    *IVFReader
	dec  *Decoder
	loop bool
	idx  int
	n    int
	base time.Duration
	last time.Duration
}

func (s *ivfSource) Info() SourceInfo {
	return SourceInfo{Name: s.name, Width: s.r.Header.Width, Height: s.r.Header.Height, FPS: s.r.Header.FPS()}
}

func (s *ivfSource) ReadFrame() (Frame, error) {
	for skipped := 0; ; skipped++ {
		data, pts, err := s.r.Next()
		if errors.Is(err, io.EOF) && s.loop && s.n > 0 {
			s.base = s.last + time.Second/time.Duration(s.r.Header.FPS())
			s.n = 0
			if _, err := s.f.Seek(s.r.hlen, io.SeekStart); err != nil {
				return Frame{}, fmt.Errorf("video: %w", err)
			}
			s.r.r.Reset(s.f)
			data, pts, err = s.r.Next()
		}
		if err != nil {
			return Frame{}, err
		}
		img, err := s.dec.Decode(data)
		if errors.Is(err, ErrNeedKeyframe) && skipped < 1000 {
			continue // skip to the next keyframe
		}
		if err != nil {
			return Frame{}, fmt.Errorf("%w: ivf frame: %w", ErrBadFile, err)
		}
		s.last = s.base + s.r.Duration(pts)
		f := Frame{Image: img, PTS: s.last, Index: s.idx}
		s.idx++
		s.n++
		return f, nil
	}
}

func (s *ivfSource) Close() error {
	s.dec.Close()
	return s.f.Close()
}

// OpenFile opens a Y4M or IVF (VP8) file as a Source, recognized by its
// content. With loop it starts over at the end instead of returning
// io.EOF.
func OpenFile(path string, loop bool) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	var magic [10]byte
	n, _ := io.ReadFull(f, magic[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("video: %w", err)
	}
	switch {
	case n >= 10 && string(magic[:]) == y4mMagic:
		r, err := NewY4MReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &y4mSource{name: path, f: f, r: r, loop: loop}, nil
	case n >= 4 && string(magic[:4]) == "DKIF":
		r, err := NewIVFReader(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		dec, err := NewDecoder()
		if err != nil {
			f.Close()
			return nil, err
		}
		return &ivfSource{name: path, f: f, r: r, dec: dec, loop: loop}, nil
	}
	f.Close()
	return nil, fmt.Errorf("%w: %s: not a Y4M or IVF file", ErrBadFile, path)
}
