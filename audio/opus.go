package audio

import (
	"errors"
	"fmt"

	"gopkg.in/hraban/opus.v2"
)

// Audio format used everywhere inside termcall.
const (
	SampleRate        = 48000 // Hz
	Channels          = 1     // mono
	FrameSamples      = 960   // one 20 ms frame
	FrameDuration     = 20    // ms
	PeriodSamples     = 480   // device period: 10 ms
	MaxPacketSize     = 1500  // bytes; an Opus packet never exceeds 1275
	OpusPreSkip       = 312   // encoder lookahead at 48 kHz (6.5 ms)
	DefaultBitrate    = 32000 // bits/s
	DefaultLossPerc   = 10    // expected packet loss, %, tunes in-band FEC
	DefaultComplexity = 5     // 0-10; 5 halves the encoder CPU of 10 for speech
	// LightComplexity is the encoder complexity of bots (a file or a tone
	// for scripted calls): about half the encoder CPU of
	// DefaultComplexity (90 against 200 us per 20 ms frame here), at the
	// same bitrate and in-band FEC (docs/performance.md, "Client CPU").
	LightComplexity = 1
)

// Encoder is an Opus encoder set up for voice calls: 48 kHz mono, VoIP
// application, in-band FEC on (10% expected loss), DTX off, 32 kbps,
// complexity 5 (about 170 us per 20 ms frame here, against 310 us at
// complexity 10).
type Encoder struct {
	enc *opus.Encoder
}

// NewEncoder returns an Encoder with termcall's settings.
func NewEncoder() (*Encoder, error) {
	enc, err := opus.NewEncoder(SampleRate, Channels, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("audio: opus encoder: %w", err)
	}
	e := &Encoder{enc: enc}
	for _, set := range []func() error{
		func() error { return enc.SetBitrate(DefaultBitrate) },
		func() error { return enc.SetInBandFEC(true) },
		func() error { return enc.SetPacketLossPerc(DefaultLossPerc) },
		func() error { return enc.SetDTX(false) },
		func() error { return enc.SetComplexity(DefaultComplexity) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("audio: opus encoder setup: %w", err)
		}
	}
	return e, nil
}

// Encode encodes one frame (normally FrameSamples samples; Opus accepts
// 2.5, 5, 10, 20, 40 or 60 ms) into out and returns the packet length.
// out should have room for MaxPacketSize bytes.
func (e *Encoder) Encode(pcm []int16, out []byte) (int, error) {
	n, err := e.enc.Encode(pcm, out)
	if err != nil {
		return 0, fmt.Errorf("audio: opus encode: %w", err)
	}
	return n, nil
}

// SetPacketLossPerc tells the encoder the expected packet loss (0-100 %),
// which sets how much in-band FEC it spends bits on.
func (e *Encoder) SetPacketLossPerc(perc int) error {
	if perc < 0 || perc > 100 {
		return fmt.Errorf("audio: packet loss %d%% out of range", perc)
	}
	return e.enc.SetPacketLossPerc(perc)
}

// SetComplexity sets the encoder's CPU/quality trade-off (0-10).
func (e *Encoder) SetComplexity(c int) error { return e.enc.SetComplexity(c) }

// Complexity returns the encoder's CPU/quality trade-off (0-10).
func (e *Encoder) Complexity() (int, error) { return e.enc.Complexity() }

// SetBitrate sets the target bitrate in bits per second.
func (e *Encoder) SetBitrate(bps int) error { return e.enc.SetBitrate(bps) }

// Bitrate returns the target bitrate in bits per second.
func (e *Encoder) Bitrate() (int, error) { return e.enc.Bitrate() }

// Decoder is an Opus decoder producing 48 kHz mono (stereo packets are
// downmixed by libopus).
type Decoder struct {
	dec *opus.Decoder
}

// NewDecoder returns a 48 kHz mono Decoder.
func NewDecoder() (*Decoder, error) {
	dec, err := opus.NewDecoder(SampleRate, Channels)
	if err != nil {
		return nil, fmt.Errorf("audio: opus decoder: %w", err)
	}
	return &Decoder{dec: dec}, nil
}

// Decode decodes pkt into pcm (room for up to 120 ms = 5760 samples is
// always enough) and returns the number of samples.
func (d *Decoder) Decode(pkt []byte, pcm []int16) (int, error) {
	if len(pkt) == 0 {
		return 0, errors.New("audio: opus decode: empty packet")
	}
	n, err := d.dec.Decode(pkt, pcm)
	if err != nil {
		return 0, fmt.Errorf("audio: opus decode: %w", err)
	}
	return n, nil
}

// DecodeFEC recovers the frame before nextPkt from the in-band FEC data
// of nextPkt (falling back to PLC when nextPkt carries none). pcm must
// be exactly the duration of the lost frame (FrameSamples).
func (d *Decoder) DecodeFEC(nextPkt []byte, pcm []int16) error {
	if len(nextPkt) == 0 {
		return d.DecodePLC(pcm)
	}
	// hraban/opus sizes the output by cap(pcm), not len(pcm): cap it.
	if err := d.dec.DecodeFEC(nextPkt, pcm[:len(pcm):len(pcm)]); err != nil {
		return fmt.Errorf("audio: opus fec: %w", err)
	}
	return nil
}

// DecodePLC fills pcm (exactly the missing duration) by packet loss
// concealment from the previous frames.
func (d *Decoder) DecodePLC(pcm []int16) error {
	if err := d.dec.DecodePLC(pcm[:len(pcm):len(pcm)]); err != nil {
		return fmt.Errorf("audio: opus plc: %w", err)
	}
	return nil
}

// Reset re-initializes the decoder state (a new stream starts).
func (d *Decoder) Reset() error {
	return d.dec.Init(SampleRate, Channels)
}
