package e2e

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/callvideo"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/video"
	"github.com/termcall/termcall/video/videotest"
)

// connectVideo has alice place a 1v1 video call to bob and bob accept.
func connectVideo(t *testing.T, alice, bob *client) engine.CallInfo {
	t.Helper()
	info := alice.mustCall(bob.id, engine.MediaTypeVideo, engine.CallParams{})
	rcv := received(info, alice.id, bob.id, "")
	rcv.MediaType = engine.MediaTypeVideo
	bob.expect(rcv)
	bob.must("Accept", bob.Accept(ctx(t)))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: bob.id})
	bob.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: alice.id})
	return info
}

// TestVideoSwitchToAudio: switching a video call to audio closes every
// camera (the others learn it, no more pictures); switching back to video
// does not open them.
func TestVideoSwitchToAudio(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	aliceVideo := alice.withVideo(t, callvideo.Options{Camera: "pattern:320x180@15", BitrateKbps: 200, ViewAll: true})
	bobVideo := bob.withVideo(t, callvideo.Options{Camera: "pattern:320x180@15", BitrateKbps: 200, ViewAll: true})
	aliceLog, bobLog := &videoLog{}, &videoLog{}
	alice.AddObserver(aliceLog)
	bob.AddObserver(bobLog)
	alice.must("OpenCamera", alice.OpenCamera(ctx(t), engine.CameraFront))
	bob.must("OpenCamera", bob.OpenCamera(ctx(t), engine.CameraFront))
	info := connectVideo(t, alice, bob)
	testutil.Until(t, "both decode pictures", wait, func() bool {
		return frames(bobVideo, "alice") > 3 && frames(aliceVideo, "bob") > 3
	})

	alice.must("Switch to audio", alice.SwitchCallMediaType(ctx(t), engine.MediaTypeAudio))
	toAudio := engine.CallMediaTypeChanged{CallID: info.CallID, OldType: engine.MediaTypeVideo, NewType: engine.MediaTypeAudio, UserID: "alice"}
	alice.expect(toAudio)
	bob.expect(toAudio)
	testutil.Until(t, "bob learns alice's camera is off", wait, func() bool { on, ok := bobLog.last("alice"); return ok && !on })
	testutil.Until(t, "alice learns bob's camera is off", wait, func() bool { on, ok := aliceLog.last("bob"); return ok && !on })
	for _, c := range []*client{alice, bob} {
		if c.IsCameraOpen() {
			t.Errorf("%s: camera still open after the switch to audio", c.id)
		}
	}
	time.Sleep(200 * time.Millisecond)
	na, nb := frames(aliceVideo, "bob"), frames(bobVideo, "alice")
	time.Sleep(700 * time.Millisecond)
	if d := frames(bobVideo, "alice") - nb; d != 0 {
		t.Errorf("bob decoded %d pictures from alice after the switch to audio", d)
	}
	if d := frames(aliceVideo, "bob") - na; d != 0 {
		t.Errorf("alice decoded %d pictures from bob after the switch to audio", d)
	}

	// Back to video: the cameras stay closed until OpenCamera.
	bob.must("Switch to video", bob.SwitchCallMediaType(ctx(t), engine.MediaTypeVideo))
	toVideo := engine.CallMediaTypeChanged{CallID: info.CallID, OldType: engine.MediaTypeAudio, NewType: engine.MediaTypeVideo, UserID: "bob"}
	alice.expect(toVideo)
	bob.expect(toVideo)
	time.Sleep(700 * time.Millisecond)
	for _, c := range []*client{alice, bob} {
		if c.IsCameraOpen() {
			t.Errorf("%s: camera opened by the switch to video", c.id)
		}
	}
	if d := frames(bobVideo, "alice") - nb; d != 0 {
		t.Errorf("bob decoded %d pictures from alice after the switch back to video", d)
	}
	if on, _ := bobLog.last("alice"); on {
		t.Errorf("bob was told alice's camera is on after the switch back to video")
	}
	alice.must("OpenCamera", alice.OpenCamera(ctx(t), engine.CameraFront))
	testutil.Until(t, "bob decodes alice again", wait, func() bool { return frames(bobVideo, "alice") > nb+3 })
	alice.must("Hangup", alice.Hangup(ctx(t)))
}

// dropSink hands packets to its sink except while drop is set.
type dropSink struct {
	engine.VideoSink
	drop    atomic.Bool
	dropped atomic.Int64
}

func (s *dropSink) WriteVideoRTP(user string, pkt *rtp.Packet) {
	if s.drop.Load() {
		s.dropped.Add(1)
		return
	}
	s.VideoSink.WriteVideoRTP(user, pkt)
}

// TestVideoKeyframeRecovery: bob loses ~300 ms of alice's packets; his
// receiver asks for a keyframe (PLI -> SFU -> alice's source) and
// decoding resumes within a second.
func TestVideoKeyframeRecovery(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	aliceVideo := alice.withVideo(t, callvideo.Options{Camera: "pattern:640x360@15", BitrateKbps: 300})
	bobVideo := bob.withVideo(t, callvideo.Options{})
	sink := &dropSink{VideoSink: bobVideo.Sink()}
	alice.must("OpenCamera", alice.OpenCamera(ctx(t), engine.CameraFront))
	if err := bob.StartRemoteView("alice", sink); err != nil {
		t.Fatal(err)
	}
	connectVideo(t, alice, bob)
	testutil.Until(t, "bob decodes alice", wait, func() bool { return frames(bobVideo, "alice") > 5 })
	time.Sleep(time.Second) // well past the first keyframes

	keys := aliceVideo.Source().Keyframes()
	sink.drop.Store(true)
	time.Sleep(300 * time.Millisecond)
	sink.drop.Store(false)
	resumed := time.Now()
	n := frames(bobVideo, "alice")
	testutil.Until(t, "bob decodes alice after the loss", wait, func() bool { return frames(bobVideo, "alice") > n })
	lat := time.Since(resumed)
	t.Logf("dropped %d packets over 300 ms; decoding resumed %v later; alice sent %d keyframe(s) meanwhile",
		sink.dropped.Load(), lat.Round(time.Millisecond), aliceVideo.Source().Keyframes()-keys)
	if lat > time.Second {
		t.Errorf("decoding resumed %v after the loss; want within 1 s", lat)
	}
	if aliceVideo.Source().Keyframes() == keys {
		t.Errorf("alice sent no keyframe after bob's loss")
	}
	n = frames(bobVideo, "alice")
	time.Sleep(time.Second)
	if d := frames(bobVideo, "alice") - n; d < 10 {
		t.Errorf("bob decoded %d pictures in the second after recovering; want >= 10", d)
	}
	alice.must("Hangup", alice.Hangup(ctx(t)))
}

// TestVideoPatternRecording: alice sends the 640x480 pattern at 15 fps;
// bob records what he receives to an IVF file, which decodes to 640x480
// pictures at about 15 fps with the pattern's colour bars.
func TestVideoPatternRecording(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	alice, bob := e.login("alice"), e.login("bob")
	path := filepath.Join(t.TempDir(), "alice.ivf")
	alice.must("SetVideoEncoderParams", alice.SetVideoEncoderParams(engine.VideoEncoderParams{Resolution: engine.Resolution640x480}))
	alice.withVideo(t, callvideo.Options{Camera: "pattern:640x480@15"})
	bobVideo := bob.withVideo(t, callvideo.Options{ViewAll: true, RecordVideo: path})
	alice.must("OpenCamera", alice.OpenCamera(ctx(t), engine.CameraFront))
	connectVideo(t, alice, bob)
	testutil.Until(t, "bob decodes alice", wait, func() bool { return frames(bobVideo, "alice") > 0 })
	time.Sleep(3 * time.Second)
	alice.must("Hangup", alice.Hangup(ctx(t)))
	if err := bobVideo.Close(); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, recorded, err := videotest.ReadIVF(f)
	if err != nil {
		t.Fatal(err)
	}
	if h.Width != 640 || h.Height != 480 || h.Frames < 30 {
		t.Errorf("IVF header %+v; want 640x480 and >= 30 frames", h)
	}
	for i, fr := range recorded {
		if b := fr.Img.Bounds(); b.Dx() != 640 || b.Dy() != 480 {
			t.Fatalf("frame %d is %v; want 640x480", i, b)
		}
	}
	// The rate over the last 2 s of the recording.
	fps := videotest.RateOverLast(recorded, 2*time.Second)
	t.Logf("recorded %d frames over %v; %.1f fps over the last 2 s", len(recorded), recorded[len(recorded)-1].PTS.Round(time.Millisecond), fps)
	if fps < 12 || fps > 18 {
		t.Errorf("%.1f fps over the last 2 s of the recording; want 15 +- 3", fps)
	}
	d := videotest.BarError(recorded[len(recorded)-1].Img)
	t.Logf("colour bars of the last recorded picture: worst channel error %d levels", d)
	if d > 24 {
		t.Errorf("colour bars off by up to %d levels; want <= 24", d)
	}
}

// The stamp: frame index bits as 32x32 black/white blocks across the top
// (row 0), and their complement below (row 1), to reject misreads.
const (
	stampBits  = 12
	stampBlock = 32
)

func stamp(img *image.YCbCr, index int) {
	for row := 0; row < 2; row++ {
		for bit := 0; bit < stampBits; bit++ {
			on := index>>bit&1 == 1
			if row == 1 {
				on = !on
			}
			v := uint8(16)
			if on {
				v = 235
			}
			for y := row * stampBlock; y < (row+1)*stampBlock; y++ {
				for x := bit * stampBlock; x < (bit+1)*stampBlock; x++ {
					img.Y[y*img.YStride+x] = v
				}
			}
			for y := row * stampBlock / 2; y < (row+1)*stampBlock/2; y++ {
				for x := bit * stampBlock / 2; x < (bit+1)*stampBlock/2; x++ {
					img.Cb[y*img.CStride+x], img.Cr[y*img.CStride+x] = 128, 128
				}
			}
		}
	}
}

func readStamp(img *image.YCbCr) (int, bool) {
	index := 0
	for bit := 0; bit < stampBits; bit++ {
		x := bit*stampBlock + stampBlock/2
		on := img.Y[(stampBlock/2)*img.YStride+x] > 128
		off := img.Y[(stampBlock+stampBlock/2)*img.YStride+x] > 128
		if on == off {
			return 0, false
		}
		if on {
			index |= 1 << bit
		}
	}
	return index, true
}

// stampSource is an engine.VideoSource sending the stamped test pattern
// and remembering when each frame was captured.
type stampSource struct {
	enc   *video.Encoder
	pacer *video.Pacer
	next  int
	mu    sync.Mutex
	at    map[int]time.Time
}

func (s *stampSource) ReadVP8Frame(ctx context.Context) ([]byte, bool, error) {
	if err := s.pacer.Wait(ctx); err != nil {
		return nil, false, err
	}
	i := s.next
	s.next++
	img := video.PatternFrame(640, 360, i)
	s.mu.Lock()
	s.at[i%(1<<stampBits)] = time.Now()
	s.mu.Unlock()
	stamp(img, i%(1<<stampBits))
	return s.enc.Encode(img)
}

func (s *stampSource) ForceKeyframe() { s.enc.ForceKeyframe() }

func (s *stampSource) captured(i int) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.at[i]
	return t, ok
}

// renderSink decodes, reads the stamp, renders the picture for a 120x40
// terminal and notes the capture -> rendered latency.
type renderSink struct {
	eng *engine.Engine
	src *stampSource
	mu  sync.Mutex
	rx  *video.Receiver
	r   *video.Renderer
	lat []time.Duration
}

func (s *renderSink) WriteVideoRTP(user string, pkt *rtp.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rx == nil {
		return
	}
	pic, ask := s.rx.Push(pkt)
	if ask {
		s.eng.RequestKeyframe(user)
	}
	if pic == nil {
		return
	}
	i, ok := readStamp(pic)
	if !ok {
		return
	}
	at, ok := s.src.captured(i)
	if !ok {
		return
	}
	if out := s.r.Render(pic, 120, 40); out == "" {
		return
	}
	s.lat = append(s.lat, time.Since(at))
}

func (s *renderSink) RemoveVideoUser(string) {}

// TestVideoGlassToTerminal measures the latency from a frame's capture at
// alice to its rendering (truecolor, 120x40) at bob on loopback: the frame
// index is stamped into the picture and read back after decoding.
func TestVideoGlassToTerminal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, _ := video.EncoderParamsFor(engine.Resolution640x360, 0, 15)
	enc, err := video.NewEncoder(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close() }) // after the engines are destroyed (cleanups run last first)
	alice, bob := e.login("alice"), e.login("bob")
	src := &stampSource{enc: enc, pacer: video.NewPacer(15), at: make(map[int]time.Time)}
	rx, err := video.NewReceiver()
	if err != nil {
		t.Fatal(err)
	}
	sink := &renderSink{eng: bob.Engine, src: src, rx: rx, r: video.NewRenderer(video.ModeTruecolor)}
	t.Cleanup(func() {
		alice.SetVideo(nil, nil)
		bob.StopRemoteView("alice")
		sink.mu.Lock()
		sink.rx.Close()
		sink.rx = nil
		sink.mu.Unlock()
	})
	alice.SetVideo(src, nil)
	alice.must("OpenCamera", alice.OpenCamera(ctx(t), engine.CameraFront))
	if err := bob.StartRemoteView("alice", sink); err != nil {
		t.Fatal(err)
	}
	connectVideo(t, alice, bob)
	testutil.Until(t, "bob renders stamped pictures", wait, func() bool { sink.mu.Lock(); defer sink.mu.Unlock(); return len(sink.lat) > 5 })
	sink.mu.Lock()
	skip := len(sink.lat)
	sink.mu.Unlock()
	time.Sleep(3 * time.Second)
	alice.must("Hangup", alice.Hangup(ctx(t)))
	sink.mu.Lock()
	lat := slices.Clone(sink.lat[skip:])
	sink.mu.Unlock()
	if len(lat) < 30 {
		t.Fatalf("%d stamped pictures rendered in 3 s; want >= 30", len(lat))
	}
	slices.Sort(lat)
	med, p90 := lat[len(lat)/2], lat[len(lat)*9/10]
	t.Logf("glass-to-terminal (capture -> encode -> SFU -> decode -> render 120x40 truecolor), %d pictures: median %v, p90 %v, max %v",
		len(lat), med.Round(100*time.Microsecond), p90.Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond))
	if med > 500*time.Millisecond {
		t.Errorf("median glass-to-terminal latency %v; want under 500 ms on loopback", med)
	}
}
