package audio

/*
#cgo pkg-config: speexdsp
#include <speex/speex_resampler.h>
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// speexResample converts in from inRate to outRate Hz with speexdsp's
// resampler at quality q (0..10; 10 is its best). It is the baseline the
// resampler comparison (resample_compare_test.go, docs/audio.md "The
// resampler: ours or speexdsp's") measures Resample against: Resample
// stays the one in use (see there). The output is aligned with the input
// (the filter's latency skipped) and has Resample's length.
func speexResample(in []float32, inRate, outRate, q int) ([]float32, error) {
	var cerr C.int
	st := C.speex_resampler_init(1, C.spx_uint32_t(inRate), C.spx_uint32_t(outRate), C.int(q), &cerr)
	if st == nil {
		return nil, fmt.Errorf("speex_resampler_init: %d", int(cerr))
	}
	defer C.speex_resampler_destroy(st)
	C.speex_resampler_skip_zeros(st)
	nOut := int((int64(len(in))*int64(outRate) + int64(inRate)/2) / int64(inRate))
	lat := int(C.speex_resampler_get_input_latency(st))
	// feed the input, then the latency's worth of zeros to flush the tail
	src := make([]float32, len(in)+lat+1)
	copy(src, in)
	out := make([]float32, nOut+outRate/inRate+2)
	inLen, outLen := C.spx_uint32_t(len(src)), C.spx_uint32_t(len(out))
	if r := C.speex_resampler_process_float(st, 0, (*C.float)(unsafe.Pointer(&src[0])), &inLen,
		(*C.float)(unsafe.Pointer(&out[0])), &outLen); r != 0 {
		return nil, fmt.Errorf("speex_resampler_process_float: %d", int(r))
	}
	out = out[:min(int(outLen), nOut)]
	for len(out) < nOut {
		out = append(out, 0)
	}
	return out, nil
}
