package video

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestY4MRoundTrip(t *testing.T) {
	const w, h, n = 34, 22, 4
	var buf bytes.Buffer
	yw, err := NewY4MWriter(&buf, w, h, 25)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := yw.WriteFrame(PatternFrame(w, h, i)); err != nil {
			t.Fatal(err)
		}
	}
	if want := len("YUV4MPEG2 W34 H22 F25:1 Ip A1:1 C420jpeg\n") + n*(6+w*h+2*17*11); buf.Len() != want {
		t.Errorf("stream is %d bytes, want %d", buf.Len(), want)
	}
	path := filepath.Join(t.TempDir(), "p.y4m")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path, "file:" + path} {
		checkY4MSource(t, name, w, h, n)
	}
	// looping
	src, err := Open(path, Loop(true))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i := 0; i < 3*n; i++ {
		f, err := src.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(PatternFrame(w, h, i%n), f.Image) || f.Index != i || f.PTS.Milliseconds() != int64(i*40) {
			t.Fatalf("loop frame %d wrong (index %d, pts %v)", i, f.Index, f.PTS)
		}
	}
}

// checkY4MSource opens the Y4M file of n w x h pattern frames at 25 fps
// by name and reads each frame whole with its PTS, then EOF.
func checkY4MSource(t *testing.T, name string, w, h, n int) {
	t.Helper()
	src, err := Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if info := src.Info(); info.Width != w || info.Height != h || info.FPS != 25 {
		t.Errorf("info %+v", info)
	}
	for i := 0; i < n; i++ {
		f, err := src.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(PatternFrame(w, h, i), f.Image); diff != "" {
			t.Fatalf("frame %d differs: %s", i, diff)
		}
		if f.PTS.Milliseconds() != int64(i*40) {
			t.Errorf("pts %v", f.PTS)
		}
	}
	if _, err := src.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v", err)
	}
}

func TestY4MFormats(t *testing.T) {
	const w, h = 4, 2
	y := []byte{16, 50, 100, 235, 16, 50, 100, 235}
	cases := []struct {
		cs     string
		chroma []byte // Cb then Cr
		wantCb []byte // 2x1 4:2:0 chroma
	}{
		{"C444", append(bytes.Repeat([]byte{100}, 8), bytes.Repeat([]byte{128}, 8)...), []byte{100, 100}},
		{"C422", []byte{90, 110, 90, 110, 128, 128, 128, 128}, []byte{90, 110}},
		{"Cmono", nil, []byte{128, 128}},
		{"C420paldv", []byte{60, 70, 128, 128}, []byte{60, 70}},
	}
	for _, c := range cases {
		var b bytes.Buffer
		fmt.Fprintf(&b, "YUV4MPEG2 W%d H%d F30000:1001 %s XFOO=bar\nFRAME Ixyz\n", w, h, c.cs)
		b.Write(y)
		b.Write(c.chroma)
		r, err := NewY4MReader(&b)
		if err != nil {
			t.Fatalf("%s: %v", c.cs, err)
		}
		if r.FPS() != 30 {
			t.Errorf("%s: fps %d", c.cs, r.FPS())
		}
		img, err := r.ReadImage()
		if err != nil {
			t.Fatalf("%s: %v", c.cs, err)
		}
		if img.SubsampleRatio != image.YCbCrSubsampleRatio420 || !bytes.Equal(img.Y, y) || !bytes.Equal(img.Cb[:2], c.wantCb) {
			t.Errorf("%s: Y %v Cb %v", c.cs, img.Y, img.Cb)
		}
	}
}

func TestY4MBad(t *testing.T) {
	for _, s := range []string{
		"", "YUV4MPEG2\n", "YUV4MPEG2 W0 H2\n", "YUV4MPEG2 W2 H2 C420p10\n",
		"YUV4MPEG2 W2 H2 F0:1\n", "YUV4MPEG2 W2 H2 Im\n", "RIFF....",
	} {
		if _, err := NewY4MReader(bytes.NewBufferString(s)); !errors.Is(err, ErrBadFile) {
			t.Errorf("%q: err %v", s, err)
		}
	}
	r, err := NewY4MReader(bytes.NewBufferString("YUV4MPEG2 W2 H2\nFRAMX\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadImage(); !errors.Is(err, ErrBadFile) {
		t.Errorf("bad frame header: %v", err)
	}
	// truncated frame: EOF
	r, _ = NewY4MReader(bytes.NewBufferString("YUV4MPEG2 W2 H2\nFRAME\n\x10\x10"))
	if _, err := r.ReadImage(); !errors.Is(err, io.EOF) {
		t.Errorf("truncated: %v", err)
	}
	path := filepath.Join(t.TempDir(), "junk.y4m")
	if err := os.WriteFile(path, []byte("not video at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrBadFile) {
		t.Errorf("junk file: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing.y4m")); err == nil {
		t.Error("missing file opened")
	}
}
