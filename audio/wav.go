package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// ReadWAV decodes a RIFF WAVE file (PCM 8/16/24/32-bit integer or 32/64-bit
// float, WAVE_FORMAT_EXTENSIBLE included, any rate and channel count) to
// 48 kHz mono: channels are averaged, then resampled with Resample.
func ReadWAV(r io.Reader) ([]int16, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("%w: truncated RIFF header", ErrBadFile)
	}
	if string(hdr[:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF/WAVE file (RIFX and RF64 are unsupported)", ErrBadFile)
	}
	var f *wavFormat
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk", ErrBadFile)
		}
		id, size := string(ch[:4]), binary.LittleEndian.Uint32(ch[4:])
		var err error
		switch id {
		case "fmt ":
			f, err = readWAVFormat(r, size)
		case "data":
			if f == nil {
				return nil, fmt.Errorf("%w: data before fmt chunk", ErrBadFile)
			}
			return decodeWAVData(r, size, f)
		default:
			if _, err = io.CopyN(io.Discard, r, int64(size)+int64(size%2)); err != nil {
				err = fmt.Errorf("%w: truncated %q chunk", ErrBadFile, id)
			}
		}
		if err != nil {
			return nil, err
		}
	}
}

// wavFormat is what a fmt chunk says of the samples.
type wavFormat struct {
	format, channels, bits uint16
	rate                   uint32
}

// readWAVFormat reads a fmt chunk of size bytes (and its pad byte).
func readWAVFormat(r io.Reader, size uint32) (*wavFormat, error) {
	if size < 16 || size > 1024 {
		return nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrBadFile, size)
	}
	b := make([]byte, size+size%2)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("%w: truncated fmt chunk", ErrBadFile)
	}
	f := &wavFormat{
		format:   binary.LittleEndian.Uint16(b),
		channels: binary.LittleEndian.Uint16(b[2:]),
		rate:     binary.LittleEndian.Uint32(b[4:]),
		bits:     binary.LittleEndian.Uint16(b[14:]),
	}
	if f.format == 0xFFFE && size >= 40 { // extensible: subformat GUID
		f.format = binary.LittleEndian.Uint16(b[24:])
	}
	return f, nil
}

// wavSample decodes one sample to [-1, 1), per format (1 PCM, 3 float)
// and bits per sample.
var wavSample = map[[2]uint16]func(b []byte) float64{
	{3, 32}: func(b []byte) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))) },
	{3, 64}: func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) },
	{1, 8}:  func(b []byte) float64 { return (float64(b[0]) - 128) / 128 },
	{1, 16}: func(b []byte) float64 { return float64(int16(binary.LittleEndian.Uint16(b))) / 32768 },
	{1, 24}: func(b []byte) float64 {
		return float64(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24)>>8) / (1 << 23)
	},
	{1, 32}: func(b []byte) float64 { return float64(int32(binary.LittleEndian.Uint32(b))) / (1 << 31) },
}

// check rejects what ReadWAV does not decode and returns the sample decoder.
func (f *wavFormat) check() (func([]byte) float64, error) {
	if f.format != 1 && f.format != 3 {
		return nil, fmt.Errorf("%w: WAV format %#x is compressed (want PCM)", ErrBadFile, f.format)
	}
	if f.channels == 0 || f.channels > 32 {
		return nil, fmt.Errorf("%w: %d channels", ErrBadFile, f.channels)
	}
	if f.rate < 1000 || f.rate > 768000 {
		return nil, fmt.Errorf("%w: sample rate %d", ErrBadFile, f.rate)
	}
	sample := wavSample[[2]uint16{f.format, f.bits}]
	if sample == nil {
		return nil, fmt.Errorf("%w: %d-bit samples (float %v) unsupported", ErrBadFile, f.bits, f.format == 3)
	}
	return sample, nil
}

func decodeWAVData(r io.Reader, size uint32, f *wavFormat) ([]int16, error) {
	sample, err := f.check()
	if err != nil {
		return nil, err
	}
	bps := int(f.bits / 8)
	frameBytes := bps * int(f.channels)
	maxIn := int64(maxFileSamples) * int64(f.rate) / SampleRate * int64(frameBytes)
	data, err := readWAVSamples(r, size, maxIn)
	if err != nil {
		return nil, err
	}
	n := len(data) / frameBytes
	mono := make([]float32, n)
	for i := range mono {
		var sum float64
		for c := 0; c < int(f.channels); c++ {
			sum += sample(data[i*frameBytes+c*bps:])
		}
		mono[i] = float32(sum / float64(f.channels))
	}
	out := Resample(mono, int(f.rate), SampleRate)
	pcm := make([]int16, len(out))
	for i, v := range out {
		pcm[i] = sat16f(float64(v) * 32768)
	}
	return pcm, nil
}

// readWAVSamples reads a data chunk of size bytes (0 or 0xFFFFFFFF: a
// streamed WAV, to the end), at most maxIn bytes; a truncated chunk is
// used as far as it goes.
func readWAVSamples(r io.Reader, size uint32, maxIn int64) ([]byte, error) {
	var data []byte
	var err error
	if size == 0 || size == 0xFFFFFFFF { // streamed WAV: size unknown
		data, err = io.ReadAll(io.LimitReader(r, maxIn+1))
	} else {
		if int64(size) > maxIn {
			return nil, fmt.Errorf("%w: longer than %v", ErrBadFile, MaxFileDuration)
		}
		data = make([]byte, size)
		var n int
		n, err = io.ReadFull(r, data)
		if errors.Is(err, io.ErrUnexpectedEOF) { // truncated but usable
			data, err = data[:n], nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reading samples: %w", ErrBadFile, err)
	}
	if int64(len(data)) > maxIn {
		return nil, fmt.Errorf("%w: longer than %v", ErrBadFile, MaxFileDuration)
	}
	return data, nil
}

// WAVWriter writes 16-bit 48 kHz mono WAV; the sizes in the header are
// fixed at Close.
type WAVWriter struct {
	w     io.WriteSeeker
	n     int64 // data bytes
	buf   []byte
	close bool
}

// NewWAVWriter writes a WAV header to w. If w is an io.Closer, Close
// closes it.
func NewWAVWriter(w io.WriteSeeker) (*WAVWriter, error) {
	ww := &WAVWriter{w: w}
	if _, err := w.Write(wavHeader(0)); err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	return ww, nil
}

func wavHeader(dataBytes uint32) []byte {
	b := make([]byte, 0, 44)
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, 36+dataBytes)
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, 1) // PCM
	b = binary.LittleEndian.AppendUint16(b, Channels)
	b = binary.LittleEndian.AppendUint32(b, SampleRate)
	b = binary.LittleEndian.AppendUint32(b, SampleRate*2*Channels)
	b = binary.LittleEndian.AppendUint16(b, 2*Channels)
	b = binary.LittleEndian.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, dataBytes)
	return b
}

// WriteFrame appends samples.
func (w *WAVWriter) WriteFrame(pcm []int16) error {
	w.buf = w.buf[:0]
	for _, v := range pcm {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(v))
	}
	n, err := w.w.Write(w.buf)
	w.n += int64(n)
	return err
}

// Close fixes the header and closes the file.
func (w *WAVWriter) Close() error {
	if w.close {
		return nil
	}
	w.close = true
	var err error
	if w.n%2 == 1 { // cannot happen with int16, kept for the RIFF rule
		_, err = w.w.Write([]byte{0})
	}
	if _, e := w.w.Seek(0, io.SeekStart); e != nil && err == nil {
		err = e
	}
	if _, e := w.w.Write(wavHeader(uint32(min(w.n, math.MaxUint32-36)))); e != nil && err == nil {
		err = e
	}
	if c, ok := w.w.(io.Closer); ok {
		if e := c.Close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}
