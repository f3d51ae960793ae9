package audio

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/termcall/termcall/audio/ogg"
)

// ReadOggOpus decodes an Ogg Opus file (RFC 7845, channel mapping family
// 0: mono or stereo, downmixed) to 48 kHz mono, honouring pre-skip, the
// end trimming of the last granule position and the output gain. It
// uses package ogg and the Opus decoder, not libopusfile, so it also
// works with -tags nolibopusfile. Only the first logical stream is read.
func ReadOggOpus(r io.Reader) ([]int16, error) {
	or := ogg.NewReader(r)
	head, err := readOpusHeaders(or)
	if err != nil {
		return nil, err
	}
	out, lastGranule, err := decodeOpusPackets(or, int(head.PreSkip))
	if err != nil {
		return nil, err
	}
	if lastGranule >= 0 && lastGranule < int64(len(out)) {
		out = out[:max(lastGranule, int64(head.PreSkip))]
	}
	if int(head.PreSkip) >= len(out) {
		return []int16{}, nil
	}
	out = out[head.PreSkip:]
	if head.OutputGain != 0 {
		Gain(out, math.Pow(10, float64(head.OutputGain)/256/20))
	}
	return out, nil
}

// badOgg wraps an error reading the Ogg stream as ErrBadFile.
func badOgg(err error) error { return fmt.Errorf("%w: %w", ErrBadFile, err) }

// readOpusHeaders reads the OpusHead and OpusTags packets.
func readOpusHeaders(or *ogg.Reader) (ogg.OpusHead, error) {
	p, err := or.NextPacket()
	if err != nil {
		return ogg.OpusHead{}, badOgg(err)
	}
	head, err := ogg.ParseOpusHead(p.Data)
	if err != nil {
		return ogg.OpusHead{}, badOgg(err)
	}
	if head.MappingFamily != 0 || head.Channels > 2 {
		return ogg.OpusHead{}, fmt.Errorf("%w: Ogg Opus channel mapping family %d with %d channels unsupported", ErrBadFile, head.MappingFamily, head.Channels)
	}
	p, err = or.NextPacket()
	if err != nil {
		return ogg.OpusHead{}, badOgg(err)
	}
	if !ogg.IsOpusTags(p.Data) {
		return ogg.OpusHead{}, fmt.Errorf("%w: second packet is not OpusTags", ErrBadFile)
	}
	return head, nil
}

// decodeOpusPackets decodes the audio packets to the end of the stream
// (EOF or the EOS page) and returns the samples with the last granule
// position (-1: none). preSkip samples may come on top of the length
// limit.
func decodeOpusPackets(or *ogg.Reader, preSkip int) (out []int16, lastGranule int64, err error) {
	dec, err := NewDecoder()
	if err != nil {
		return nil, 0, err
	}
	buf := make([]int16, 5760)
	lastGranule = -1
	for {
		p, err := or.NextPacket()
		if errors.Is(err, io.EOF) {
			return out, lastGranule, nil
		}
		if err != nil {
			return nil, 0, badOgg(err)
		}
		if len(p.Data) == 0 {
			continue
		}
		n, err := dec.Decode(p.Data, buf)
		if err != nil {
			return nil, 0, badOgg(err)
		}
		out = append(out, buf[:n]...)
		if len(out) > maxFileSamples+preSkip {
			return nil, 0, fmt.Errorf("%w: longer than %v", ErrBadFile, MaxFileDuration)
		}
		if p.Granule >= 0 {
			lastGranule = p.Granule
		}
		if p.EOS {
			return out, lastGranule, nil
		}
	}
}

// OggOpusWriter encodes 48 kHz mono audio to an Ogg Opus file with the
// Opus encoder (32 kbps, 20 ms packets, FEC on), writing OpusHead and
// OpusTags pages, granule positions and page checksums; Close pads and
// trims the end exactly (end trimming by the last granule position).
type OggOpusWriter struct {
	dst     io.Writer
	ow      *ogg.Writer
	enc     *Encoder
	pending []int16
	samples int64 // real samples written
	encoded int64 // samples fed to the encoder
	pkt     []byte
	closed  bool
}

// NewOggOpusWriter writes the headers to w. If w is an io.Closer, Close
// closes it.
func NewOggOpusWriter(w io.Writer) (*OggOpusWriter, error) {
	enc, err := NewEncoder()
	if err != nil {
		return nil, err
	}
	ow := ogg.NewWriter(w, rand.Uint32())
	o := &OggOpusWriter{dst: w, ow: ow, enc: enc, pkt: make([]byte, MaxPacketSize)}
	head := ogg.OpusHead{Version: 1, Channels: 1, PreSkip: OpusPreSkip, InputSampleRate: SampleRate}
	if err := ow.WritePacket(head.Marshal(), 0); err != nil {
		return nil, err
	}
	if err := ow.Flush(); err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	if err := ow.WritePacket(ogg.OpusTags("termcall", "ENCODER=termcall"), 0); err != nil {
		return nil, err
	}
	if err := ow.Flush(); err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	return o, nil
}

// WriteFrame appends samples (any length; they are cut into 20 ms frames).
func (o *OggOpusWriter) WriteFrame(pcm []int16) error {
	if o.closed {
		return errors.New("audio: write to closed OggOpusWriter")
	}
	o.samples += int64(len(pcm))
	o.pending = append(o.pending, pcm...)
	return o.encodeFull()
}

func (o *OggOpusWriter) encodeFull() error {
	i := 0
	for ; i+FrameSamples <= len(o.pending); i += FrameSamples {
		n, err := o.enc.Encode(o.pending[i:i+FrameSamples], o.pkt)
		if err != nil {
			return err
		}
		o.encoded += FrameSamples
		if err := o.ow.WritePacket(o.pkt[:n], o.encoded); err != nil {
			return fmt.Errorf("audio: %w", err)
		}
	}
	o.pending = append(o.pending[:0], o.pending[i:]...)
	return nil
}

// Close flushes the encoder (enough silence to get the encoder's
// lookahead out), writes the last page and closes the file.
func (o *OggOpusWriter) Close() error {
	if o.closed {
		return nil
	}
	o.closed = true
	need := o.samples + OpusPreSkip
	var err error
	for o.encoded < need && err == nil {
		pad := FrameSamples - len(o.pending)
		o.pending = append(o.pending, make([]int16, pad)...)
		// the last packet's granule is the end trim point
		n, e := o.enc.Encode(o.pending[:FrameSamples], o.pkt)
		if e != nil {
			err = e
			break
		}
		o.pending = o.pending[:0]
		o.encoded += FrameSamples
		g := o.encoded
		if g >= need {
			g = need
		}
		err = o.ow.WritePacket(o.pkt[:n], g)
	}
	if e := o.ow.Close(); e != nil && err == nil {
		err = e
	}
	if c, ok := o.dst.(io.Closer); ok {
		if e := c.Close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}
