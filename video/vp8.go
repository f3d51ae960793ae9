package video

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

static vpx_codec_err_t tc_enc_init(vpx_codec_ctx_t *ctx, vpx_codec_enc_cfg_t *cfg) {
	return vpx_codec_enc_init(ctx, vpx_codec_vp8_cx(), cfg, 0);
}
static vpx_codec_err_t tc_enc_default(vpx_codec_enc_cfg_t *cfg) {
	return vpx_codec_enc_config_default(vpx_codec_vp8_cx(), cfg, 0);
}
static vpx_codec_err_t tc_ctl_int(vpx_codec_ctx_t *ctx, int id, int v) {
	switch (id) {
	case VP8E_SET_CPUUSED: return vpx_codec_control(ctx, VP8E_SET_CPUUSED, v);
	case VP8E_SET_NOISE_SENSITIVITY: return vpx_codec_control(ctx, VP8E_SET_NOISE_SENSITIVITY, (unsigned int)v);
	case VP8E_SET_STATIC_THRESHOLD: return vpx_codec_control(ctx, VP8E_SET_STATIC_THRESHOLD, (unsigned int)v);
	case VP8E_SET_TOKEN_PARTITIONS: return vpx_codec_control(ctx, VP8E_SET_TOKEN_PARTITIONS, v);
	case VP8E_SET_MAX_INTRA_BITRATE_PCT: return vpx_codec_control(ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, (unsigned int)v);
	}
	return VPX_CODEC_INVALID_PARAM;
}
// tc_encode encodes img (or flushes with NULL) and copies every frame
// packet into out (capacity cap). It returns the number of bytes
// written, or -1 on an encoder error (*err set), or -2 when out is too
// small (*need set to the required size; the data is lost).
static int tc_encode(vpx_codec_ctx_t *ctx, vpx_image_t *img, vpx_codec_pts_t pts,
		unsigned long flags, unsigned char *out, int cap, int *key, int *need, vpx_codec_err_t *err) {
	*key = 0;
	*need = 0;
	*err = vpx_codec_encode(ctx, img, pts, 1, flags, VPX_DL_REALTIME);
	if (*err != VPX_CODEC_OK) return -1;
	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *pkt;
	int n = 0, over = 0;
	while ((pkt = vpx_codec_get_cx_data(ctx, &iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		if (pkt->data.frame.flags & VPX_FRAME_IS_KEY) *key = 1;
		size_t sz = pkt->data.frame.sz;
		if (n + (int)sz > cap) { over = 1; n += (int)sz; continue; }
		memcpy(out + n, pkt->data.frame.buf, sz);
		n += (int)sz;
	}
	if (over) { *need = n; return -2; }
	return n;
}
static vpx_codec_err_t tc_dec_init(vpx_codec_ctx_t *ctx) {
	vpx_codec_dec_cfg_t cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.threads = 1;
	return vpx_codec_dec_init(ctx, vpx_codec_vp8_dx(), &cfg, 0);
}
static int tc_dec_corrupted(vpx_codec_ctx_t *ctx) {
	int corrupted = 0;
	if (vpx_codec_control(ctx, VP8D_GET_FRAME_CORRUPTED, &corrupted) != VPX_CODEC_OK) return 0;
	return corrupted;
}
static vpx_image_t *tc_dec_frame(vpx_codec_ctx_t *ctx) {
	vpx_codec_iter_t iter = NULL;
	vpx_image_t *img = NULL, *last = NULL;
	while ((img = vpx_codec_get_frame(ctx, &iter)) != NULL) last = img;
	return last;
}
static unsigned char *tc_plane(vpx_image_t *img, int i) { return img->planes[i]; }
static int tc_stride(vpx_image_t *img, int i) { return img->stride[i]; }
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"runtime"
	"sync"
	"unsafe"
)

// ErrNeedKeyframe is wrapped by Decoder.Decode errors when it cannot
// decode until a keyframe arrives (the first frame was not a keyframe,
// or a frame was corrupt or referenced a lost one). The receiver should
// send a PLI.
var ErrNeedKeyframe = errors.New("video: decoder needs a keyframe")

// ErrCodec is wrapped by libvpx failures.
var ErrCodec = errors.New("video: vp8 codec error")

// EncoderParams configure an Encoder.
type EncoderParams struct {
	Width, Height int // even sizes are best; odd ones are allowed
	FPS           int // frame rate the stream is timed at (default 15)
	BitrateKbps   int // target bitrate (default: from the resolution table, else 500)
	// KeyframeInterval is the maximum distance between keyframes in
	// frames (default 10 s worth). Receivers recover from loss with PLI
	// (ForceKeyframe), so periodic keyframes are only a safety net.
	KeyframeInterval int
	// Speed is libvpx's cpu-used, 0 (best) to 16 (fastest); default 8,
	// which keeps 1280x720 at 15 fps well inside one core.
	Speed int
	// Threads for libvpx (default: 1 below 960x540, else 2).
	Threads int
}

func (p *EncoderParams) defaults() error {
	if p.Width <= 0 || p.Height <= 0 || p.Width > 4096 || p.Height > 4096 {
		return fmt.Errorf("%w: bad encoder size %dx%d", ErrCodec, p.Width, p.Height)
	}
	positiveOr(&p.FPS, DefaultFPS)
	positiveOr(&p.BitrateKbps, bitrateForSize(p.Width, p.Height))
	positiveOr(&p.KeyframeInterval, 10*p.FPS)
	positiveOr(&p.Speed, 8)
	p.Speed = min(p.Speed, 16)
	if p.Threads <= 0 {
		p.Threads = 1
		if p.Width*p.Height >= 960*540 && runtime.NumCPU() > 1 {
			p.Threads = 2
		}
	}
	return nil
}

// positiveOr sets *v to def unless it is above 0.
func positiveOr(v *int, def int) {
	if *v <= 0 {
		*v = def
	}
}

// Encoder is a realtime VP8 encoder (libvpx through cgo: one-pass CBR,
// no lag, error resilient, one token partition, VPX_DL_REALTIME). Each
// Encode call produces at most one whole VP8 frame, timed as the next
// frame at the configured FPS. It is safe for concurrent use: SetBitrate
// and ForceKeyframe may be called from an RTCP goroutine while another
// goroutine encodes.
type Encoder struct {
	mu     sync.Mutex
	ctx    *C.vpx_codec_ctx_t
	cfg    *C.vpx_codec_enc_cfg_t
	img    *C.vpx_image_t
	p      EncoderParams
	pts    int64
	force  bool
	out    []byte
	cout   *C.uchar
	ccap   int
	closed bool
	scr    *image.YCbCr // scratch for conversions
}

// setRealtimeConfig sets the encoder configuration for p: one-pass CBR
// at the target bitrate, no lag, error resilient, no frame dropping or
// resizing, keyframes at most KeyframeInterval apart.
func setRealtimeConfig(cfg *C.vpx_codec_enc_cfg_t, p EncoderParams) {
	cfg.g_w = C.uint(p.Width)
	cfg.g_h = C.uint(p.Height)
	cfg.g_timebase.num = 1
	cfg.g_timebase.den = C.int(p.FPS)
	cfg.g_threads = C.uint(p.Threads)
	cfg.g_lag_in_frames = 0
	cfg.g_error_resilient = C.VPX_ERROR_RESILIENT_DEFAULT
	cfg.g_pass = C.VPX_RC_ONE_PASS
	cfg.rc_end_usage = C.VPX_CBR
	cfg.rc_target_bitrate = C.uint(p.BitrateKbps)
	cfg.rc_min_quantizer = 2
	cfg.rc_max_quantizer = 56
	cfg.rc_undershoot_pct = 100
	cfg.rc_overshoot_pct = 15
	cfg.rc_buf_initial_sz = 500
	cfg.rc_buf_optimal_sz = 600
	cfg.rc_buf_sz = 1000
	cfg.rc_dropframe_thresh = 0
	cfg.rc_resize_allowed = 0
	cfg.kf_mode = C.VPX_KF_AUTO
	cfg.kf_min_dist = 0
	cfg.kf_max_dist = C.uint(p.KeyframeInterval)
}

// NewEncoder returns a VP8 encoder for frames of p.Width x p.Height.
func NewEncoder(p EncoderParams) (*Encoder, error) {
	if err := p.defaults(); err != nil {
		return nil, err
	}
	e := &Encoder{p: p}
	e.cfg = (*C.vpx_codec_enc_cfg_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vpx_codec_enc_cfg_t{}))))
	if rc := C.tc_enc_default(e.cfg); rc != C.VPX_CODEC_OK {
		C.free(unsafe.Pointer(e.cfg))
		return nil, fmt.Errorf("%w: config default: %d", ErrCodec, rc)
	}
	cfg := e.cfg
	setRealtimeConfig(cfg, p)

	e.ctx = (*C.vpx_codec_ctx_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vpx_codec_ctx_t{}))))
	if rc := C.tc_enc_init(e.ctx, cfg); rc != C.VPX_CODEC_OK {
		C.free(unsafe.Pointer(e.ctx))
		C.free(unsafe.Pointer(e.cfg))
		return nil, fmt.Errorf("%w: encoder init %dx%d: %s", ErrCodec, p.Width, p.Height, C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	for _, c := range []struct{ id, v int }{
		{C.VP8E_SET_CPUUSED, -p.Speed}, // negative: realtime speed
		{C.VP8E_SET_NOISE_SENSITIVITY, 0},
		{C.VP8E_SET_STATIC_THRESHOLD, 1},
		{C.VP8E_SET_TOKEN_PARTITIONS, 0},
		{C.VP8E_SET_MAX_INTRA_BITRATE_PCT, 300},
	} {
		if rc := C.tc_ctl_int(e.ctx, C.int(c.id), C.int(c.v)); rc != C.VPX_CODEC_OK {
			e.free()
			return nil, fmt.Errorf("%w: control %d: %d", ErrCodec, c.id, rc)
		}
	}
	e.img = C.vpx_img_alloc(nil, C.VPX_IMG_FMT_I420, C.uint(p.Width), C.uint(p.Height), 16)
	if e.img == nil {
		e.free()
		return nil, fmt.Errorf("%w: vpx_img_alloc", ErrCodec)
	}
	e.ccap = p.Width*p.Height*3/2 + 4096
	e.cout = (*C.uchar)(C.malloc(C.size_t(e.ccap)))
	return e, nil
}

func (e *Encoder) free() {
	if e.ctx != nil {
		C.vpx_codec_destroy(e.ctx)
		C.free(unsafe.Pointer(e.ctx))
		e.ctx = nil
	}
	if e.cfg != nil {
		C.free(unsafe.Pointer(e.cfg))
		e.cfg = nil
	}
	if e.img != nil {
		C.vpx_img_free(e.img)
		e.img = nil
	}
	if e.cout != nil {
		C.free(unsafe.Pointer(e.cout))
		e.cout = nil
	}
}

// Params returns the encoder's parameters (with defaults filled in and
// the current bitrate).
func (e *Encoder) Params() EncoderParams {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.p
}

// Encode encodes img as the next frame. img may be any image: anything
// but an *image.YCbCr 4:2:0 of exactly the encoder's size is converted
// (scaled to fill and centre-cropped, like FillModeFill). The returned
// frame is one whole VP8 frame (a fresh slice the caller owns); keyframe
// reports whether it is a keyframe. libvpx may drop a frame under rate
// pressure: frame is then nil with a nil error (send nothing).
func (e *Encoder) Encode(img image.Image) (frame []byte, keyframe bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, false, fmt.Errorf("%w: encoder closed", ErrCodec)
	}
	if img == nil {
		return nil, false, fmt.Errorf("%w: nil image", ErrCodec)
	}
	src, ok := img.(*image.YCbCr)
	if !ok || src.SubsampleRatio != image.YCbCrSubsampleRatio420 || src.Rect.Dx() != e.p.Width || src.Rect.Dy() != e.p.Height {
		e.scr = ToI420(e.scr, img, e.p.Width, e.p.Height)
		src = e.scr
	}
	e.load(src)
	var flags C.ulong
	if e.force {
		flags |= C.VPX_EFLAG_FORCE_KF
	}
	var key, need C.int
	var cerr C.vpx_codec_err_t
	n := C.tc_encode(e.ctx, e.img, C.vpx_codec_pts_t(e.pts), flags, e.cout, C.int(e.ccap), &key, &need, &cerr)
	e.pts++
	switch n {
	case -1:
		return nil, false, fmt.Errorf("%w: encode: %s", ErrCodec, C.GoString(C.vpx_codec_err_to_string(cerr)))
	case -2:
		// Output buffer too small (cannot happen with the default
		// capacity of a raw frame); grow it and ask for a keyframe so the
		// stream stays decodable.
		C.free(unsafe.Pointer(e.cout))
		e.ccap = int(need) * 2
		e.cout = (*C.uchar)(C.malloc(C.size_t(e.ccap)))
		e.force = true
		return nil, false, nil
	case 0:
		return nil, false, nil
	}
	e.force = false
	frame = C.GoBytes(unsafe.Pointer(e.cout), n)
	return frame, key != 0, nil
}

// load copies the planes of src (4:2:0, encoder size) into the libvpx image.
func (e *Encoder) load(src *image.YCbCr) {
	w, h := e.p.Width, e.p.Height
	cw, ch := (w+1)/2, (h+1)/2
	for i, pl := range []struct {
		pix    []byte
		stride int
		w, h   int
		off    int
	}{
		{src.Y, src.YStride, w, h, src.YOffset(src.Rect.Min.X, src.Rect.Min.Y)},
		{src.Cb, src.CStride, cw, ch, src.COffset(src.Rect.Min.X, src.Rect.Min.Y)},
		{src.Cr, src.CStride, cw, ch, src.COffset(src.Rect.Min.X, src.Rect.Min.Y)},
	} {
		ds := int(C.tc_stride(e.img, C.int(i)))
		dst := unsafe.Slice((*byte)(unsafe.Pointer(C.tc_plane(e.img, C.int(i)))), ds*(pl.h-1)+pl.w)
		for y := 0; y < pl.h; y++ {
			copy(dst[y*ds:y*ds+pl.w], pl.pix[pl.off+y*pl.stride:pl.off+y*pl.stride+pl.w])
		}
	}
}

// SetBitrate changes the target bitrate from the next frame on (for
// congestion control, e.g. from REMB or TWCC estimates).
func (e *Encoder) SetBitrate(kbps int) error {
	if kbps <= 0 {
		return fmt.Errorf("%w: bad bitrate %d kbps", ErrCodec, kbps)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return fmt.Errorf("%w: encoder closed", ErrCodec)
	}
	if kbps == e.p.BitrateKbps {
		return nil
	}
	e.cfg.rc_target_bitrate = C.uint(kbps)
	if rc := C.vpx_codec_enc_config_set(e.ctx, e.cfg); rc != C.VPX_CODEC_OK {
		e.cfg.rc_target_bitrate = C.uint(e.p.BitrateKbps)
		return fmt.Errorf("%w: set bitrate: %s", ErrCodec, C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	e.p.BitrateKbps = kbps
	return nil
}

// Bitrate returns the current target bitrate in kbps.
func (e *Encoder) Bitrate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.p.BitrateKbps
}

// ForceKeyframe makes the next encoded frame a keyframe (on PLI/FIR).
func (e *Encoder) ForceKeyframe() {
	e.mu.Lock()
	e.force = true
	e.mu.Unlock()
}

// Close frees the encoder. Further Encode calls fail.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		e.free()
	}
	return nil
}

// Decoder decodes a VP8 stream. Each Decode call takes exactly one whole
// VP8 frame (as produced by Encoder.Encode, an IVF file or
// FrameAssembler). Not safe for concurrent use.
type Decoder struct {
	ctx     *C.vpx_codec_ctx_t
	started bool // a keyframe has been decoded since the last error
	closed  bool
}

// NewDecoder returns a VP8 decoder.
func NewDecoder() (*Decoder, error) {
	d := &Decoder{}
	d.ctx = (*C.vpx_codec_ctx_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vpx_codec_ctx_t{}))))
	if rc := C.tc_dec_init(d.ctx); rc != C.VPX_CODEC_OK {
		C.free(unsafe.Pointer(d.ctx))
		return nil, fmt.Errorf("%w: decoder init: %s", ErrCodec, C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	return d, nil
}

// Decode decodes one whole VP8 frame and returns a new *image.YCbCr
// (4:2:0) the caller owns. Until a keyframe has been decoded (at the
// start, and after a corrupt frame) it returns an error wrapping
// ErrNeedKeyframe for inter frames.
func (d *Decoder) Decode(frame []byte) (image.Image, error) {
	return d.DecodeInto(nil, frame)
}

// DecodeInto is Decode writing into dst when dst is a 4:2:0 image of the
// frame's size (it is reallocated otherwise); it returns the image used.
func (d *Decoder) DecodeInto(dst *image.YCbCr, frame []byte) (*image.YCbCr, error) {
	if d.closed {
		return nil, fmt.Errorf("%w: decoder closed", ErrCodec)
	}
	if len(frame) < 3 {
		return nil, fmt.Errorf("%w: short VP8 frame (%d bytes)", ErrCodec, len(frame))
	}
	key := IsKeyframe(frame)
	if !key && !d.started {
		return nil, ErrNeedKeyframe
	}
	img, err := d.decode(frame)
	if err != nil {
		return nil, err
	}
	d.started = true
	w, h := int(img.d_w), int(img.d_h)
	dst = reuseI420(dst, w, h)
	cw, ch := (w+1)/2, (h+1)/2
	for i, pl := range []struct {
		pix    []byte
		stride int
		w, h   int
	}{{dst.Y, dst.YStride, w, h}, {dst.Cb, dst.CStride, cw, ch}, {dst.Cr, dst.CStride, cw, ch}} {
		ss := int(C.tc_stride(img, C.int(i)))
		src := unsafe.Slice((*byte)(unsafe.Pointer(C.tc_plane(img, C.int(i)))), ss*(pl.h-1)+pl.w)
		for y := 0; y < pl.h; y++ {
			copy(pl.pix[y*pl.stride:y*pl.stride+pl.w], src[y*ss:y*ss+pl.w])
		}
	}
	return dst, nil
}

// decode runs libvpx on one frame and returns its picture; a frame libvpx
// rejects or finds corrupt means waiting for a keyframe.
func (d *Decoder) decode(frame []byte) (*C.vpx_image_t, error) {
	rc := C.vpx_codec_decode(d.ctx, (*C.uint8_t)(unsafe.Pointer(&frame[0])), C.uint(len(frame)), nil, 0)
	if rc != C.VPX_CODEC_OK {
		d.started = false
		return nil, fmt.Errorf("%w: decode: %s (%w)", ErrCodec, C.GoString(C.vpx_codec_err_to_string(rc)), ErrNeedKeyframe)
	}
	if C.tc_dec_corrupted(d.ctx) != 0 {
		d.started = false
		C.tc_dec_frame(d.ctx) // drain
		return nil, fmt.Errorf("%w: corrupt frame (%w)", ErrCodec, ErrNeedKeyframe)
	}
	img := C.tc_dec_frame(d.ctx)
	if img == nil {
		return nil, fmt.Errorf("%w: no picture from frame", ErrCodec)
	}
	return img, nil
}

// Close frees the decoder.
func (d *Decoder) Close() error {
	if !d.closed {
		d.closed = true
		C.vpx_codec_destroy(d.ctx)
		C.free(unsafe.Pointer(d.ctx))
		d.ctx = nil
	}
	return nil
}

// IsKeyframe reports whether a whole VP8 frame (not an RTP payload with
// its descriptor) is a keyframe: the frame tag's P bit is 0 and the
// start code 9d 01 2a follows.
func IsKeyframe(frame []byte) bool {
	return len(frame) >= 10 && frame[0]&1 == 0 && frame[3] == 0x9d && frame[4] == 0x01 && frame[5] == 0x2a
}

// KeyframeSize returns the picture size coded in a VP8 keyframe.
func KeyframeSize(frame []byte) (w, h int, ok bool) {
	if !IsKeyframe(frame) {
		return 0, 0, false
	}
	w = int(frame[6]) | int(frame[7]&0x3f)<<8
	h = int(frame[8]) | int(frame[9]&0x3f)<<8
	return w, h, true
}
