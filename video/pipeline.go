package video

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"time"

	"github.com/pion/rtp"
)

// Sender runs the send side of the pipeline: Source -> Encoder -> Write.
// The engine sets Write to push each frame to its
// webrtc.TrackLocalStaticSample (media.Sample{Data: frame, Duration: d}),
// created with the VP8 codec and stream ID = the local user ID.
type Sender struct {
	Source  Source
	Encoder *Encoder
	// Write sends one encoded frame; d is the frame's duration (1/FPS).
	Write func(frame []byte, keyframe bool, d time.Duration) error
	// Preview, if set, gets every captured frame (for a local preview);
	// it must not block.
	Preview func(Frame)
}

// Run reads, encodes and writes frames until ctx is done, the source
// ends (io.EOF, returned as nil) or an error occurs. Non-live sources
// are paced at the encoder's frame rate.
func (s *Sender) Run(ctx context.Context) error {
	if s.Source == nil || s.Encoder == nil || s.Write == nil {
		return errors.New("video: Sender needs Source, Encoder and Write")
	}
	p := s.Encoder.Params()
	d := time.Second / time.Duration(p.FPS)
	var pacer *Pacer
	if !s.Source.Info().Live {
		pacer = NewPacer(p.FPS)
	}
	for {
		if !waitTick(ctx, pacer) {
			return nil
		}
		f, err := s.Source.ReadFrame()
		if err != nil {
			return readEnd(ctx, err)
		}
		if err := s.send(f, d); err != nil {
			return err
		}
	}
}

// waitTick waits for the pacer's next tick (nil: a live source, no wait);
// false once ctx is done.
func waitTick(ctx context.Context, pacer *Pacer) bool {
	if pacer != nil {
		return pacer.Wait(ctx) == nil
	}
	return ctx.Err() == nil
}

// readEnd is what Run returns for a ReadFrame error: nil at the source's
// end or once ctx is done (closing the source interrupts a read).
func readEnd(ctx context.Context, err error) error {
	if errors.Is(err, io.EOF) || ctx.Err() != nil {
		return nil
	}
	return err
}

// send previews, encodes and writes one frame (the encoder may drop it).
func (s *Sender) send(f Frame, d time.Duration) error {
	if s.Preview != nil {
		s.Preview(f)
	}
	frame, key, err := s.Encoder.Encode(f.Image)
	if err != nil {
		return err
	}
	if frame == nil {
		return nil
	}
	if err := s.Write(frame, key, d); err != nil {
		return fmt.Errorf("video: write frame: %w", err)
	}
	return nil
}

// Receiver turns one remote user's VP8 RTP packets into pictures:
// FrameAssembler -> Decoder. The engine makes one per remote video
// track (its stream ID is the remote user ID), feeds it every RTP packet
// read from the track, and sends a PLI (rtcp.PictureLossIndication with
// the track's SSRC) when Push says so, at most every 300 ms or so.
// Not safe for concurrent use.
type Receiver struct {
	// OnFrame, if set, gets every frame the assembler completes, before
	// it is decoded (to record the stream as received, e.g. with an
	// IVFWriter). The frame's Data must not be modified.
	OnFrame func(AssembledFrame)

	asm *FrameAssembler
	dec *Decoder
}

// NewReceiver returns a Receiver.
func NewReceiver() (*Receiver, error) {
	dec, err := NewDecoder()
	if err != nil {
		return nil, err
	}
	return &Receiver{asm: NewFrameAssembler(), dec: dec}, nil
}

// Assembler exposes the frame assembler (for its windows and stats).
func (r *Receiver) Assembler() *FrameAssembler { return r.asm }

// Push adds a packet. It returns the newest picture it completed (a
// fresh image the caller owns; nil if none) and whether a keyframe
// should be requested.
func (r *Receiver) Push(p *rtp.Packet) (pic *image.YCbCr, needKeyframe bool) {
	frames, ask := r.asm.Push(p)
	for _, f := range frames {
		if r.OnFrame != nil {
			r.OnFrame(f)
		}
		img, err := r.dec.DecodeInto(nil, f.Data)
		if err != nil {
			r.asm.RequestKeyframe()
			ask = true
			continue
		}
		pic = img
	}
	return pic, ask
}

// Close frees the decoder.
func (r *Receiver) Close() error { return r.dec.Close() }
