package video

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	_ "github.com/pion/mediadevices/pkg/driver/camera" // registers V4L2 (Linux) cameras; never import the microphone driver
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// DeviceInfo describes a camera.
type DeviceInfo struct {
	ID    string // mediadevices' driver ID (random, per process)
	Path  string // device path when known, e.g. /dev/video0
	Label string // mediadevices' label, e.g. "video0;video0"
	Name  string // the driver's name, e.g. "HD Webcam;usb-0000:00:14.0-1"
}

// SourceName is the name that opens this camera with Open.
func (d DeviceInfo) SourceName() string {
	if d.Path != "" {
		return "camera:" + d.Path
	}
	return "camera:" + d.ID
}

type cameraDriver interface {
	driver.Driver
	driver.VideoRecorder
}

// cameras returns the registered cameras, the preferred (video0) first.
func cameras() ([]cameraDriver, []DeviceInfo) {
	var ds []cameraDriver
	for _, d := range driver.GetManager().Query(driver.FilterAnd(driver.FilterVideoRecorder(), driver.FilterDeviceType(driver.Camera))) {
		if vr, ok := d.(cameraDriver); ok {
			ds = append(ds, vr)
		}
	}
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Info(), ds[j].Info()
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		return a.Label < b.Label
	})
	infos := make([]DeviceInfo, len(ds))
	for i, d := range ds {
		info := d.Info()
		infos[i] = DeviceInfo{ID: d.ID(), Label: info.Label, Name: info.Name}
		if _, real, ok := strings.Cut(info.Label, ";"); ok && real != "" && !strings.Contains(real, "/") {
			infos[i].Path = "/dev/" + real
		}
	}
	return ds, infos
}

// Devices lists the cameras mediadevices found at start-up (V4L2
// devices on Linux). It is empty, not an error, without cameras.
func Devices() ([]DeviceInfo, error) {
	_, infos := cameras()
	return infos, nil
}

// CameraPosition is the reference's TUICallDefine.Camera.
type CameraPosition int

const (
	CameraFront CameraPosition = 0
	CameraBack  CameraPosition = 1
)

// Cameras maps the reference's front and back cameras to sources: any
// Open name (usually camera:DEVICE; pattern: works for tests). Empty
// means the default: the first camera for the front and the second (or
// the first, if there is only one) for the back.
type Cameras struct {
	Front, Back string
}

// Name returns the source name for pos.
func (c Cameras) Name(pos CameraPosition) string {
	if pos == CameraBack {
		if c.Back != "" {
			return c.Back
		}
		if _, infos := cameras(); len(infos) > 1 {
			return infos[1].SourceName()
		}
		return "camera:"
	}
	if c.Front != "" {
		return c.Front
	}
	return "camera:"
}

// Open opens the camera at pos.
func (c Cameras) Open(pos CameraPosition, opts ...OpenOption) (Source, error) {
	return Open(c.Name(pos), opts...)
}

func openCamera(name, want string, o openOptions) (Source, error) {
	ds, infos := cameras()
	if len(ds) == 0 {
		return nil, fmt.Errorf("%w: no video capture device found (%s)", ErrNoCamera, name)
	}
	idx, err := findCamera(infos, want)
	if err != nil {
		return nil, err
	}
	d, dn := ds[idx], infos[idx].SourceName()
	if err := d.Open(); err != nil {
		return nil, fmt.Errorf("video: open camera %s: %w", dn, err)
	}
	w, h := o.w, o.h
	if w <= 0 || h <= 0 {
		w, h = 640, 480
	}
	p, ok := pickProp(d.Properties(), w, h, o.fps)
	if !ok {
		d.Close()
		return nil, fmt.Errorf("%w: %s has no usable video format", ErrNoCamera, dn)
	}
	r, err := d.VideoRecord(p)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("video: start camera %s (%dx%d %s): %w", dn, p.Width, p.Height, p.FrameFormat, err)
	}
	fps := int(p.FrameRate + 0.5)
	if fps <= 0 {
		fps = o.fps
	}
	return &cameraSource{name: name, d: d, r: r, w: p.Width, h: p.Height, fps: fps}, nil
}

// findCamera returns the index of the camera want names: "" the first,
// else by driver ID or device path (/dev/ optional), else the first whose
// label or name contains it (case-insensitive).
func findCamera(infos []DeviceInfo, want string) (int, error) {
	if want == "" {
		return 0, nil
	}
	for i, in := range infos {
		if want == in.ID || want == in.Path || "/dev/"+want == in.Path {
			return i, nil
		}
	}
	lw := strings.ToLower(want)
	for i, in := range infos {
		if strings.Contains(strings.ToLower(in.Label), lw) || strings.Contains(strings.ToLower(in.Name), lw) {
			return i, nil
		}
	}
	var have []string
	for _, in := range infos {
		have = append(have, in.SourceName())
	}
	return -1, fmt.Errorf("%w: %q not found (have %s)", ErrNoCamera, want, strings.Join(have, ", "))
}

// formatCost is the score added per capture format: raw YUV formats are
// preferred over MJPEG (no JPEG decoding per frame); formats not listed
// (depth and unknown ones) are not used.
var formatCost = map[frame.Format]float64{
	frame.FormatI420: 0, frame.FormatNV12: 0, frame.FormatNV21: 0,
	frame.FormatYUYV: 0.05, frame.FormatUYVY: 0.05,
	frame.FormatMJPEG: 0.3,
}

// pickProp chooses the capture format closest to w x h at fps,
// preferring raw YUV formats over MJPEG (no JPEG decoding per frame).
func pickProp(ps []prop.Media, w, h, fps int) (prop.Media, bool) {
	best, bestScore := prop.Media{}, math.Inf(1)
	for _, p := range ps {
		fmtCost, ok := formatCost[p.FrameFormat]
		if !ok || p.Width <= 0 || p.Height <= 0 {
			continue
		}
		if score := propDistance(p, w, h, fps) + fmtCost; score < bestScore {
			best, bestScore = p, score
		}
	}
	if best.FrameRate <= 0 && fps > 0 {
		// leave the device's own rate
		best.FrameRate = 0
	}
	return best, !math.IsInf(bestScore, 1)
}

// propDistance is how far format p is from w x h at fps: log ratios of
// the area (doubled below the size: upscaling loses more than
// downscaling), the aspect and the rate (tripled below the rate).
func propDistance(p prop.Media, w, h, fps int) float64 {
	size := math.Abs(math.Log(float64(p.Width*p.Height) / float64(w*h)))
	if p.Width < w || p.Height < h {
		size *= 2 // upscaling loses more than downscaling
	}
	aspect := math.Abs(math.Log(float64(p.Width*h) / float64(p.Height*w)))
	rate := 0.0
	if p.FrameRate > 0 && fps > 0 {
		rate = math.Abs(math.Log(float64(p.FrameRate) / float64(fps)))
		if int(p.FrameRate+0.5) < fps {
			rate *= 3
		}
	}
	return size + aspect + rate
}

type cameraSource struct {
	name      string
	d         cameraDriver
	r         video.Reader
	w, h, fps int
	mu        sync.Mutex
	closed    bool
	start     time.Time
	idx       int
}

func (s *cameraSource) Info() SourceInfo {
	return SourceInfo{Name: s.name, Width: s.w, Height: s.h, FPS: s.fps, Live: true}
}

func (s *cameraSource) ReadFrame() (Frame, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return Frame{}, ErrClosed
	}
	img, release, err := s.r.Read()
	if err != nil {
		return Frame{}, fmt.Errorf("video: camera %s: %w", s.name, err)
	}
	b := img.Bounds()
	// Copy out of the driver's buffer (and convert 4:2:2 and others).
	out := ToI420(nil, img, b.Dx(), b.Dy())
	if release != nil {
		release()
	}
	now := time.Now()
	if s.idx == 0 {
		s.start = now
	}
	f := Frame{Image: out, PTS: now.Sub(s.start), Index: s.idx}
	s.idx++
	return f, nil
}

func (s *cameraSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.d.Close()
}
