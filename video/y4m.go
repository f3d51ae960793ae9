package video

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"strconv"
	"strings"
	"time"
)

const y4mMagic = "YUV4MPEG2 "

// Y4MReader reads YUV4MPEG2 streams: 8-bit 4:2:0 (C420, C420jpeg,
// C420paldv, C420mpeg2), 4:2:2, 4:4:4 and mono. Every picture is
// returned as a 4:2:0 *image.YCbCr.
type Y4MReader struct {
	r             *bufio.Reader
	Width, Height int
	// FPSNum/FPSDen is the frame rate (F parameter; 15:1 when absent).
	FPSNum, FPSDen int
	colorspace     string
	headerLen      int64
	frames         int
}

// NewY4MReader parses the stream header.
func NewY4MReader(r io.Reader) (*Y4MReader, error) {
	y := &Y4MReader{r: bufio.NewReaderSize(r, 64<<10), FPSNum: DefaultFPS, FPSDen: 1, colorspace: "420jpeg"}
	line, err := readLine(y.r, 4096)
	if err != nil {
		return nil, fmt.Errorf("%w: y4m header: %w", ErrBadFile, err)
	}
	y.headerLen = int64(len(line)) + 1
	if !strings.HasPrefix(line, y4mMagic) {
		return nil, fmt.Errorf("%w: not a YUV4MPEG2 stream", ErrBadFile)
	}
	for _, f := range strings.Fields(line[len(y4mMagic):]) {
		if err := y.param(f[0], f[1:]); err != nil {
			return nil, fmt.Errorf("%w: y4m header: %w", ErrBadFile, err)
		}
	}
	if y.Width <= 0 || y.Height <= 0 || y.Width > 8192 || y.Height > 8192 {
		return nil, fmt.Errorf("%w: y4m size %dx%d", ErrBadFile, y.Width, y.Height)
	}
	if _, ok := y4mChroma[y.colorspace]; !ok {
		return nil, fmt.Errorf("%w: y4m colour space C%s (want 8-bit 420, 422, 444 or mono)", ErrBadFile, y.colorspace)
	}
	return y, nil
}

// param reads one header parameter: its tag and value (unknown tags are
// ignored, as the format says).
func (y *Y4MReader) param(tag byte, v string) error {
	var err error
	switch tag {
	case 'W':
		y.Width, err = strconv.Atoi(v)
	case 'H':
		y.Height, err = strconv.Atoi(v)
	case 'F':
		err = y.frameRate(v)
	case 'C':
		y.colorspace = v
	case 'I':
		if v != "p" && v != "?" && v != "t" && v != "b" {
			err = fmt.Errorf("unsupported interlacing %q", v)
		}
	}
	return err
}

// frameRate reads the F parameter, NUM:DEN.
func (y *Y4MReader) frameRate(v string) error {
	n, d, ok := strings.Cut(v, ":")
	var e1, e2 error
	y.FPSNum, e1 = strconv.Atoi(n)
	y.FPSDen, e2 = strconv.Atoi(d)
	if !ok || e1 != nil || e2 != nil || y.FPSNum <= 0 || y.FPSDen <= 0 {
		return fmt.Errorf("bad frame rate %q", v)
	}
	return nil
}

// y4mChroma is, per colour space supported, the chroma subsampling: the
// ratio and the chroma plane's divisors of the width and height (0: no
// chroma planes in the stream, mono).
var y4mChroma = map[string]struct {
	ratio  image.YCbCrSubsampleRatio
	dw, dh int
}{
	"420":      {image.YCbCrSubsampleRatio420, 2, 2},
	"420jpeg":  {image.YCbCrSubsampleRatio420, 2, 2},
	"420paldv": {image.YCbCrSubsampleRatio420, 2, 2},
	"420mpeg2": {image.YCbCrSubsampleRatio420, 2, 2},
	"422":      {image.YCbCrSubsampleRatio422, 2, 1},
	"444":      {image.YCbCrSubsampleRatio444, 1, 1},
	"mono":     {image.YCbCrSubsampleRatio420, 0, 0},
}

// FPS returns the frame rate rounded to an integer (at least 1).
func (y *Y4MReader) FPS() int { return max(1, (y.FPSNum+y.FPSDen/2)/y.FPSDen) }

func readLine(r *bufio.Reader, limit int) (string, error) {
	var b []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) && len(b) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if c == '\n' {
			return string(b), nil
		}
		if len(b) >= limit {
			return "", errors.New("line too long")
		}
		b = append(b, c)
	}
}

// ReadImage reads the next picture. It returns io.EOF after the last
// complete one (a truncated last frame is dropped).
func (y *Y4MReader) ReadImage() (*image.YCbCr, error) {
	line, err := readLine(y.r, 1024)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("%w: y4m frame header: %w", ErrBadFile, err)
	}
	if line != "FRAME" && !strings.HasPrefix(line, "FRAME ") {
		return nil, fmt.Errorf("%w: y4m frame %d: bad frame header", ErrBadFile, y.frames)
	}
	w, h := y.Width, y.Height
	sub := y4mChroma[y.colorspace]
	img := image.NewYCbCr(image.Rect(0, 0, w, h), sub.ratio)
	if !y.readPlanes(img, sub.dw, sub.dh) {
		return nil, io.EOF
	}
	y.frames++
	if sub.ratio != image.YCbCrSubsampleRatio420 {
		return ToI420(nil, img, w, h), nil
	}
	return img, nil
}

// readPlanes reads a picture's planes into img, the chroma planes
// subsampled by dw x dh (0: none in the stream, mono: they are grey). It
// is false if the stream ends first.
func (y *Y4MReader) readPlanes(img *image.YCbCr, dw, dh int) bool {
	w, h := y.Width, y.Height
	if _, err := io.ReadFull(y.r, img.Y[:w*h]); err != nil {
		return false
	}
	if dw == 0 {
		for i := range img.Cb {
			img.Cb[i], img.Cr[i] = 128, 128
		}
		return true
	}
	cw, ch := (w+dw-1)/dw, (h+dh-1)/dh
	if _, err := io.ReadFull(y.r, img.Cb[:cw*ch]); err != nil {
		return false
	}
	_, err := io.ReadFull(y.r, img.Cr[:cw*ch])
	return err == nil
}

// reset repositions the reader at the first frame (rs must be the
// underlying stream).
func (y *Y4MReader) reset(rs io.ReadSeeker) error {
	if _, err := rs.Seek(y.headerLen, io.SeekStart); err != nil {
		return err
	}
	y.r.Reset(rs)
	return nil
}

// Y4MWriter writes a YUV4MPEG2 4:2:0 stream.
type Y4MWriter struct {
	w             io.Writer
	width, height int
	buf           bytes.Buffer
	scratch       *image.YCbCr
}

// NewY4MWriter writes the header of a width x height stream at fps.
func NewY4MWriter(w io.Writer, width, height, fps int) (*Y4MWriter, error) {
	if fps <= 0 {
		fps = DefaultFPS
	}
	if _, err := fmt.Fprintf(w, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", width, height, fps); err != nil {
		return nil, err
	}
	return &Y4MWriter{w: w, width: width, height: height}, nil
}

// WriteFrame writes img, converted to 4:2:0 of the stream size if needed.
func (y *Y4MWriter) WriteFrame(img image.Image) error {
	src := ToI420(y.scratch, img, y.width, y.height)
	y.scratch = src
	w, h := y.width, y.height
	cw, ch := (w+1)/2, (h+1)/2
	y.buf.Reset()
	y.buf.WriteString("FRAME\n")
	for r := 0; r < h; r++ {
		y.buf.Write(src.Y[r*src.YStride : r*src.YStride+w])
	}
	for _, pl := range [][]byte{src.Cb, src.Cr} {
		for r := 0; r < ch; r++ {
			y.buf.Write(pl[r*src.CStride : r*src.CStride+cw])
		}
	}
	_, err := y.w.Write(y.buf.Bytes())
	return err
}

// y4mSource is a Source over a Y4M file.
type y4mSource struct {
	name string
	f    io.ReadSeekCloser
	r    *Y4MReader
	loop bool
	idx  int
	base time.Duration // PTS offset after loops
	n    int           // frames since the last loop
}

func (s *y4mSource) Info() SourceInfo {
	return SourceInfo{Name: s.name, Width: s.r.Width, Height: s.r.Height, FPS: s.r.FPS()}
}

func (s *y4mSource) pts(n int) time.Duration {
	return time.Duration(n) * time.Second * time.Duration(s.r.FPSDen) / time.Duration(s.r.FPSNum)
}

func (s *y4mSource) ReadFrame() (Frame, error) {
	img, err := s.r.ReadImage()
	if errors.Is(err, io.EOF) && s.loop && s.n > 0 {
		s.base += s.pts(s.n)
		s.n = 0
		if err := s.r.reset(s.f); err != nil {
			return Frame{}, fmt.Errorf("video: %w", err)
		}
		img, err = s.r.ReadImage()
	}
	if err != nil {
		return Frame{}, err
	}
	f := Frame{Image: img, PTS: s.base + s.pts(s.n), Index: s.idx}
	s.idx++
	s.n++
	return f, nil
}

func (s *y4mSource) Close() error { return s.f.Close() }
