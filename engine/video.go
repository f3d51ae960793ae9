package engine

import (
	"context"
	"math"
	"sync"
	"sync/atomic"

	"github.com/pion/rtp"

	"github.com/termcall/termcall/protocol"
)

// Video. The engine moves encoded VP8 only, like audio (media.go): the
// camera, encoding, decoding and rendering live outside it, behind
// VideoSource and VideoSink (internal/callvideo wires termcall's video
// package to them).
//
// Uplink: every negotiated call gets one VP8 track on the server's
// receive-only video transceiver (stream ID = this user), so that opening
// the camera later needs no renegotiation. Frames are read from the
// source and sent only while the call is connected and the camera open.
// RTCP about that track: PLI and FIR ask the source for a keyframe
// (KeyframeRequester), the send-side bandwidth estimate (GCC over TWCC, bwe.go) or a REMB sets its bitrate (BitrateSetter).
//
// Downlink: each other participant's video track is read all along (the
// interceptors need it), but its packets reach a sink only while that
// user is viewed (StartRemoteView). Starting a view sends a PLI for the
// user's track, so that a keyframe comes at once.

// VideoSource gives the engine encoded video to send: one whole VP8 frame
// per call, paced by the source (it blocks until the next frame is due).
// The engine calls ReadVP8Frame only while it sends (a connected call,
// the camera open). io.EOF ends the source until SetVideo sets one again.
//
// A source may also implement KeyframeRequester, BitrateSetter and
// CameraSwitcher; their methods may be called from other goroutines
// while ReadVP8Frame runs.
type VideoSource interface {
	ReadVP8Frame(ctx context.Context) (frame []byte, keyframe bool, err error)
}

// KeyframeRequester is implemented by a VideoSource that can make its next
// frame a keyframe (on PLI/FIR from the server, or when the camera opens).
type KeyframeRequester interface {
	ForceKeyframe()
}

// BitrateSetter is implemented by a VideoSource whose bitrate can change
// at run time (the send-side bandwidth estimate, or a REMB).
type BitrateSetter interface {
	SetBitrate(kbps int)
}

// CameraSwitcher is implemented by a VideoSource that can switch between
// the front and back cameras (SwitchCamera, OpenCamera).
type CameraSwitcher interface {
	SwitchCamera(camera Camera) error
}

// BeautySetter is implemented by a VideoSource that can smooth the
// picture before encoding (SetBeautyLevel): level 0 (off) to 9.
type BeautySetter interface {
	SetBeautyLevel(level float64)
}

// VideoSink receives the RTP packets (VP8 payload) of each viewed remote
// user, from the engine's track goroutine for that user; it owns frame
// assembly and decoding. The packet is the sink's to keep. When it needs
// a keyframe it calls Engine.RequestKeyframe. RemoveVideoUser is called
// when the view stops or the user's track ends; after StopRemoteView
// returns, the sink gets no more packets of that user.
//
// WriteVideoRTP must not call StartRemoteView, StopRemoteView or SetVideo.
type VideoSink interface {
	WriteVideoRTP(userID string, pkt *rtp.Packet)
	RemoveVideoUser(userID string)
}

// Camera is the reference's TUICallDefine.Camera.
type Camera int

// Cameras.
const (
	CameraFront Camera = 0
	CameraBack  Camera = 1
)

// The reference's resolution codes (VideoEncoderParams.resolution) and
// modes; sizes and bitrates: protocol.ResolutionSize.
const (
	Resolution640x360   = protocol.Resolution640x360
	Resolution640x480   = protocol.Resolution640x480
	Resolution960x540   = protocol.Resolution960x540
	Resolution960x720   = protocol.Resolution960x720
	Resolution1280x720  = protocol.Resolution1280x720
	Resolution1920x1080 = protocol.Resolution1920x1080

	ResolutionModeLandscape = protocol.ResolutionModeLandscape
	ResolutionModePortrait  = protocol.ResolutionModePortrait
)

// VideoEncoderParams are the reference's encoder parameters: a resolution
// code and mode. The zero value means 640x360 landscape.
type VideoEncoderParams struct {
	Resolution     int `json:"resolution"`
	ResolutionMode int `json:"resolutionMode"`
}

// Fill modes and rotations of VideoRenderParams (the reference's values).
const (
	FillModeFill = 0
	FillModeFit  = 1

	Rotation0   = 0
	Rotation90  = 1
	Rotation180 = 2
	Rotation270 = 3
)

// VideoRenderParams say how to draw a user's video: FillMode 0 fill (crop),
// 1 fit (letterbox); Rotation 0..3 = 0/90/180/270 degrees clockwise.
type VideoRenderParams struct {
	FillMode int `json:"fillMode"`
	Rotation int `json:"rotation"`
}

type videoIO struct {
	src  VideoSource
	sink VideoSink
}

// videoMgr is the engine's video state; its zero value is ready.
type videoMgr struct {
	io       atomic.Pointer[videoIO]
	cameraOn atomic.Bool // closed by default
	camera   atomic.Int32

	// viewMu: the track goroutines hold it for reading while they hand a
	// packet to a sink; StopRemoteView takes it for writing, so that no
	// packet follows the view's end.
	viewMu sync.RWMutex
	views  map[string]*videoView // by user ID

	pmu    sync.Mutex
	enc    VideoEncoderParams
	render map[string]VideoRenderParams
	beauty float64 // SetBeautyLevel, 0..9

	// --- seg: SetBlurBackground, SetVirtualBackground (pmu) ---
	bg background

	// typeObs closes the camera when a call switches to audio
	// (CallMediaTypeChanged); added at the first SetVideo.
	typeObs sync.Once
}

type videoView struct {
	sink VideoSink // nil: the SetVideo sink
}

// SetVideo sets where the engine takes the video it sends (the camera) and
// the default sink of viewed users' video; nil for none. It may be called
// before or during a call.
func (e *Engine) SetVideo(src VideoSource, sink VideoSink) {
	v := &e.media.video
	if bs, ok := src.(BeautySetter); ok {
		v.pmu.Lock()
		level := v.beauty
		v.pmu.Unlock()
		bs.SetBeautyLevel(level)
	}
	e.handBackground(src) // --- seg ---
	v.typeObs.Do(func() {
		e.AddObserver(NewObserver(func(ev Event) {
			if ev, ok := ev.(CallMediaTypeChanged); ok {
				e.videoMediaTypeChanged(ev)
			}
		}))
	})
	v.io.Store(&videoIO{src: src, sink: sink})
	e.media.notify()
	e.media.mu.Lock()
	for _, c := range e.media.calls {
		c.poke() // report the (maybe changed) video availability
	}
	e.media.mu.Unlock()
}

// OpenCamera starts sending the video source's frames (the camera is
// closed by default); the others in the call get
// UserVideoAvailable(me, true). Without a source it fails.
func (e *Engine) OpenCamera(ctx context.Context, camera Camera) error {
	v := &e.media.video
	src := v.source()
	if src == nil {
		return protocol.Errorf(protocol.CodeInvalidArgument, "no video source (SetVideo)")
	}
	if camera != CameraFront && camera != CameraBack {
		return protocol.Errorf(protocol.CodeInvalidArgument, "camera %d; want 0 (front) or 1 (back)", camera)
	}
	if Camera(v.camera.Load()) != camera {
		if sw, ok := src.(CameraSwitcher); ok {
			if err := sw.SwitchCamera(camera); err != nil {
				return protocol.Errorf(protocol.CodeVideoDevice, "camera: %w", err)
			}
		}
		v.camera.Store(int32(camera))
	}
	if kr, ok := src.(KeyframeRequester); ok {
		kr.ForceKeyframe()
	}
	v.cameraOn.Store(true)
	e.media.notify()
	return e.reportMediaState(ctx)
}

// CloseCamera stops sending video; the others get UserVideoAvailable(me, false).
func (e *Engine) CloseCamera(ctx context.Context) error {
	e.media.video.cameraOn.Store(false)
	e.media.notify()
	return e.reportMediaState(ctx)
}

// SwitchCamera switches between the front and back cameras, through the
// source's CameraSwitcher (a source without one ignores it).
func (e *Engine) SwitchCamera(ctx context.Context, camera Camera) error {
	if camera != CameraFront && camera != CameraBack {
		return protocol.Errorf(protocol.CodeInvalidArgument, "camera %d; want 0 (front) or 1 (back)", camera)
	}
	v := &e.media.video
	if sw, ok := v.source().(CameraSwitcher); ok {
		if err := sw.SwitchCamera(camera); err != nil {
			return protocol.Errorf(protocol.CodeVideoDevice, "camera: %w", err)
		}
		if kr, ok := v.source().(KeyframeRequester); ok {
			kr.ForceKeyframe()
		}
	}
	v.camera.Store(int32(camera))
	return nil
}

// videoMediaTypeChanged closes the camera when the current call switches
// to audio (SwitchCallMediaType from anyone in it): sending stops and the
// others get UserVideoAvailable(me, false). A switch to video does not
// open it; OpenCamera does. Runs on the dispatcher goroutine; it does not
// block (the state is reported by the calls' run goroutines).
func (e *Engine) videoMediaTypeChanged(ev CallMediaTypeChanged) {
	if ev.NewType != MediaTypeAudio {
		return
	}
	if current, _ := e.mediaCallState(ev.CallID); !current {
		return
	}
	if !e.media.video.cameraOn.Swap(false) {
		return
	}
	e.media.notify()
	e.media.mu.Lock()
	for _, c := range e.media.calls {
		c.poke() // report video: false
	}
	e.media.mu.Unlock()
}

// SetBeautyLevel sets how much the video source smooths the picture
// before encoding: 0 (off, the default) to 9 (strongest). The level is
// stored and handed to the source if it implements BeautySetter (now and
// at every SetVideo); a source without it ignores it.
func (e *Engine) SetBeautyLevel(level float64) error {
	if math.IsNaN(level) || level < 0 || level > 9 {
		return protocol.Errorf(protocol.CodeInvalidArgument, "beauty level %v; want 0..9", level)
	}
	v := &e.media.video
	v.pmu.Lock()
	v.beauty = level
	v.pmu.Unlock()
	if bs, ok := v.source().(BeautySetter); ok {
		bs.SetBeautyLevel(level)
	}
	return nil
}

// BeautyLevel returns the level set by SetBeautyLevel (0 by default).
func (e *Engine) BeautyLevel() float64 {
	v := &e.media.video
	v.pmu.Lock()
	defer v.pmu.Unlock()
	return v.beauty
}

// CurrentCamera returns the camera last opened or switched to.
func (e *Engine) CurrentCamera() Camera { return Camera(e.media.video.camera.Load()) }

// IsCameraOpen says whether the camera is open.
func (e *Engine) IsCameraOpen() bool { return e.media.video.cameraOn.Load() }

// StartRemoteView starts handing userID's video to a sink: the given one,
// else the SetVideo sink. A PLI for the user's track asks for a keyframe
// at once. Views outlive calls: a viewed user's video reaches the sink in
// any call until StopRemoteView.
func (e *Engine) StartRemoteView(userID string, sink ...VideoSink) error {
	if err := protocol.ValidateUserID(userID); err != nil {
		return err
	}
	view := &videoView{}
	if len(sink) > 0 {
		view.sink = sink[0]
	}
	v := &e.media.video
	v.viewMu.Lock()
	old := v.views[userID]
	if v.views == nil {
		v.views = make(map[string]*videoView)
	}
	v.views[userID] = view
	v.viewMu.Unlock()
	if old != nil && old.sink != view.sink {
		if s := v.sinkOf(old); s != nil {
			s.RemoveVideoUser(userID)
		}
	}
	e.requestKeyframe(userID, true)
	return nil
}

// StopRemoteView stops handing userID's video to its sink, which is told
// RemoveVideoUser; no packet of userID reaches it after this returns.
func (e *Engine) StopRemoteView(userID string) {
	v := &e.media.video
	v.viewMu.Lock()
	old := v.views[userID]
	delete(v.views, userID)
	v.viewMu.Unlock()
	if old != nil {
		if s := v.sinkOf(old); s != nil {
			s.RemoveVideoUser(userID)
		}
	}
}

// IsRemoteViewing says whether userID is viewed.
func (e *Engine) IsRemoteViewing(userID string) bool {
	v := &e.media.video
	v.viewMu.RLock()
	defer v.viewMu.RUnlock()
	return v.views[userID] != nil
}

// RequestKeyframe sends a PLI for userID's video track in every call that
// has one (a sink's decoder lost its reference); at most one per user and
// call every 300 ms.
func (e *Engine) RequestKeyframe(userID string) { e.requestKeyframe(userID, false) }

func (e *Engine) requestKeyframe(userID string, force bool) {
	e.media.mu.Lock()
	calls := make([]*mediaCall, 0, len(e.media.calls))
	for _, c := range e.media.calls {
		calls = append(calls, c)
	}
	e.media.mu.Unlock()
	for _, c := range calls {
		c.video.sendPLI(userID, force)
	}
}

// SetVideoEncoderParams sets the resolution the video source should encode
// at (the source reads it with VideoEncoderParams).
func (e *Engine) SetVideoEncoderParams(p VideoEncoderParams) error {
	if p.Resolution == 0 {
		p.Resolution = Resolution640x360
	}
	switch p.Resolution {
	case Resolution640x360, Resolution640x480, Resolution960x540, Resolution960x720, Resolution1280x720, Resolution1920x1080:
	default:
		return protocol.Errorf(protocol.CodeInvalidArgument, "resolution %d; want 108, 62, 110, 64, 112 or 114", p.Resolution)
	}
	if p.ResolutionMode != ResolutionModeLandscape && p.ResolutionMode != ResolutionModePortrait {
		return protocol.Errorf(protocol.CodeInvalidArgument, "resolutionMode %d; want 0 (landscape) or 1 (portrait)", p.ResolutionMode)
	}
	v := &e.media.video
	v.pmu.Lock()
	v.enc = p
	v.pmu.Unlock()
	return nil
}

// VideoEncoderParams returns the encoder parameters (640x360 landscape
// unless SetVideoEncoderParams set others).
func (e *Engine) VideoEncoderParams() VideoEncoderParams {
	v := &e.media.video
	v.pmu.Lock()
	defer v.pmu.Unlock()
	p := v.enc
	if p.Resolution == 0 {
		p.Resolution = Resolution640x360
	}
	return p
}

// SetVideoRenderParams sets how userID's video should be drawn (the
// renderer reads it with VideoRenderParams).
func (e *Engine) SetVideoRenderParams(userID string, p VideoRenderParams) error {
	if err := protocol.ValidateUserID(userID); err != nil {
		return err
	}
	if p.FillMode != FillModeFill && p.FillMode != FillModeFit {
		return protocol.Errorf(protocol.CodeInvalidArgument, "fillMode %d; want 0 (fill) or 1 (fit)", p.FillMode)
	}
	if p.Rotation < Rotation0 || p.Rotation > Rotation270 {
		return protocol.Errorf(protocol.CodeInvalidArgument, "rotation %d; want 0..3", p.Rotation)
	}
	v := &e.media.video
	v.pmu.Lock()
	if v.render == nil {
		v.render = make(map[string]VideoRenderParams)
	}
	v.render[userID] = p
	v.pmu.Unlock()
	return nil
}

// VideoRenderParams returns userID's render parameters (fill, no rotation
// unless set).
func (e *Engine) VideoRenderParams(userID string) VideoRenderParams {
	v := &e.media.video
	v.pmu.Lock()
	defer v.pmu.Unlock()
	return v.render[userID]
}

func (v *videoMgr) source() VideoSource {
	if io := v.io.Load(); io != nil {
		return io.src
	}
	return nil
}

func (v *videoMgr) defaultSink() VideoSink {
	if io := v.io.Load(); io != nil {
		return io.sink
	}
	return nil
}

func (v *videoMgr) sinkOf(view *videoView) VideoSink {
	if view.sink != nil {
		return view.sink
	}
	return v.defaultSink()
}

// available says whether this device sends video when connected.
func (v *videoMgr) available() bool {
	return v.cameraOn.Load() && v.source() != nil
}

// stateToReport returns the video availability to tell the server given
// the last one told: nil (leave it out) while no video source was ever
// set, so that audio-only devices report audio only; last itself when it
// has not changed.
func (v *videoMgr) stateToReport(last *bool) *bool {
	want := v.available()
	if last == nil && v.source() == nil {
		return nil
	}
	if last != nil && *last == want {
		return last
	}
	return &want
}

// deliver hands a packet of user to its view's sink; false if user is
// not viewed (or has no sink).
func (v *videoMgr) deliver(user string, pkt *rtp.Packet) bool {
	v.viewMu.RLock()
	defer v.viewMu.RUnlock()
	view := v.views[user]
	if view == nil {
		return false
	}
	s := v.sinkOf(view)
	if s == nil {
		return false
	}
	s.WriteVideoRTP(user, pkt)
	return true
}

// ended tells user's view sink, if any, that its track ended.
func (v *videoMgr) ended(user string) {
	v.viewMu.RLock()
	view := v.views[user]
	v.viewMu.RUnlock()
	if view != nil {
		if s := v.sinkOf(view); s != nil {
			s.RemoveVideoUser(user)
		}
	}
}
