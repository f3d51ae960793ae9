package audio

/*
#cgo pkg-config: opus
#include <opus.h>

static int tc_batch_init(OpusEncoder *st, int rate, int channels, int bitrate, int loss, int complexity) {
	int err = opus_encoder_init(st, rate, channels, OPUS_APPLICATION_VOIP);
	if (err != OPUS_OK) return err;
	if ((err = opus_encoder_ctl(st, OPUS_SET_BITRATE(bitrate))) != OPUS_OK ||
	    (err = opus_encoder_ctl(st, OPUS_SET_INBAND_FEC(1))) != OPUS_OK ||
	    (err = opus_encoder_ctl(st, OPUS_SET_PACKET_LOSS_PERC(loss))) != OPUS_OK ||
	    (err = opus_encoder_ctl(st, OPUS_SET_DTX(0))) != OPUS_OK ||
	    (err = opus_encoder_ctl(st, OPUS_SET_COMPLEXITY(complexity))) != OPUS_OK) {
		return err;
	}
	return OPUS_OK;
}

static int tc_batch_set_complexity(OpusEncoder *st, int c) {
	return opus_encoder_ctl(st, OPUS_SET_COMPLEXITY(c));
}

static int tc_batch_complexity(OpusEncoder *st, int *c) {
	return opus_encoder_ctl(st, OPUS_GET_COMPLEXITY(c));
}

// Encodes frames frames of frame_size samples each; packet i goes to
// out + i*stride, its length to lens[i]. Returns 0 or an Opus error.
static int tc_batch_encode(OpusEncoder *st, const opus_int16 *pcm, int frames, int frame_size,
                           unsigned char *out, int stride, int *lens) {
	for (int i = 0; i < frames; i++) {
		int n = opus_encode(st, pcm + i * frame_size, frame_size, out + i * stride, stride);
		if (n < 0) return n;
		lens[i] = n;
	}
	return 0;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// batchEncoder is an Opus encoder with termcall's settings (see Encoder)
// that encodes several frames in one call into C. A source uplink (a file
// or a tone, which can be read ahead) uses it: every call into C also
// costs the Go runtime a hand-off of its thread (the monitor thread
// retakes the processor from a call longer than ~20 us), so one call per
// sourceBatchFrames frames instead of one per frame (docs/performance.md,
// "Client CPU").
//
// The encoder's state lives in Go memory (as hraban/opus's does), so it
// needs no freeing and stays valid for a reader that races with the
// uplink's Close.
type batchEncoder struct {
	mem  []byte // the OpusEncoder
	st   *C.OpusEncoder
	lens []C.int
}

func newBatchEncoder() (*batchEncoder, error) {
	mem := make([]byte, int(C.opus_encoder_get_size(Channels)))
	st := (*C.OpusEncoder)(unsafe.Pointer(&mem[0]))
	if rc := C.tc_batch_init(st, SampleRate, Channels, DefaultBitrate, DefaultLossPerc, DefaultComplexity); rc != C.OPUS_OK {
		return nil, fmt.Errorf("audio: opus encoder: %s", C.GoString(C.opus_strerror(rc)))
	}
	return &batchEncoder{mem: mem, st: st, lens: make([]C.int, sourceBatchFrames)}, nil
}

func (b *batchEncoder) setComplexity(c int) error {
	if rc := C.tc_batch_set_complexity(b.st, C.int(c)); rc != C.OPUS_OK {
		return fmt.Errorf("audio: opus complexity %d: %s", c, C.GoString(C.opus_strerror(rc)))
	}
	return nil
}

func (b *batchEncoder) complexity() (int, error) {
	var c C.int
	if rc := C.tc_batch_complexity(b.st, &c); rc != C.OPUS_OK {
		return 0, fmt.Errorf("audio: opus complexity: %s", C.GoString(C.opus_strerror(rc)))
	}
	return int(c), nil
}

// encode encodes the frames of pcm (a multiple of FrameSamples) into out,
// packet i at out[i*MaxPacketSize:], and returns the packets' lengths.
func (b *batchEncoder) encode(pcm []int16, out []byte) ([]C.int, error) {
	frames := len(pcm) / FrameSamples
	if frames == 0 || frames > len(b.lens) || len(out) < frames*MaxPacketSize {
		return nil, fmt.Errorf("audio: opus batch of %d samples", len(pcm))
	}
	rc := C.tc_batch_encode(b.st, (*C.opus_int16)(&pcm[0]), C.int(frames), FrameSamples,
		(*C.uchar)(&out[0]), MaxPacketSize, &b.lens[0])
	if rc != 0 {
		return nil, fmt.Errorf("audio: opus encode: %s", C.GoString(C.opus_strerror(rc)))
	}
	return b.lens[:frames], nil
}
