package video

// Ours or pion's (pkg/media/ivfreader, ivfwriter)? Issue 14 item 7. The
// measurements behind the decision in docs/video.md ("IVF: ours or pion's"):
//
//	go test -run TestPionIVF -v ./video
//	go test -run '^$' -bench 'IVFRead' -benchmem ./video

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pion/webrtc/v4/pkg/media/ivfreader"
)

// ivfFrames is 20 s of 15 fps VP8-sized frames (a keyframe of 12 KB each
// second, 1..3 KB between).
func ivfFrames() [][]byte {
	fs := make([][]byte, 300)
	for i := range fs {
		n := 1000 + (i*389)%2000
		if i%15 == 0 {
			n = 12000
		}
		f := make([]byte, n)
		for j := range f {
			f[j] = byte(i + j*3)
		}
		fs[i] = f
	}
	return fs
}

func ivfFile(tb testing.TB, fs [][]byte) string {
	tb.Helper()
	var b bytes.Buffer
	w, err := NewIVFWriter(&b, 320, 180, 15)
	if err != nil {
		tb.Fatal(err)
	}
	for i, f := range fs {
		if err := w.WriteFrame(f, uint64(i)); err != nil {
			tb.Fatal(err)
		}
	}
	p := filepath.Join(tb.TempDir(), "v.ivf")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// TestPionIVFReadsOurs: pion's reader and ours agree on a file we write.
func TestPionIVFReadsOurs(t *testing.T) {
	fs := ivfFrames()
	f, err := os.Open(ivfFile(t, fs))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, h, err := ivfreader.NewWith(f)
	if err != nil {
		t.Fatal(err)
	}
	if string(h.FourCC) != "VP80" || h.Width != 320 || h.TimebaseDenominator != 15 {
		t.Errorf("pion's header: %+v", h)
	}
	for i := range fs {
		got, fh, err := r.ParseNextFrame()
		if err != nil || !bytes.Equal(got, fs[i]) {
			t.Fatalf("frame %d: %d bytes, %+v, %v", i, len(got), fh, err)
		}
	}
}

// TestPionIVFBadFile: a frame header that claims 64 MiB on a short file.
// Ours refuses a frame over 32 MiB with ErrBadFile before reading it;
// pion's allocates what the header says, then fails on the short read —
// a corrupt or hostile file (up to 4 GiB a frame) makes it allocate that much.
func TestPionIVFBadFile(t *testing.T) {
	var b bytes.Buffer
	w, err := NewIVFWriter(&b, 32, 18, 15)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFrame([]byte{1, 2, 3}, 0); err != nil {
		t.Fatal(err)
	}
	var hdr [12]byte
	binary.LittleEndian.PutUint32(hdr[:4], 64<<20)
	b.Write(hdr[:])
	b.WriteString("short")
	file := b.Bytes()

	alloc := func(f func()) uint64 {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		f()
		runtime.ReadMemStats(&m1)
		return m1.TotalAlloc - m0.TotalAlloc
	}
	var oursErr, pionErr error
	ours := alloc(func() {
		r, err := NewIVFReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		_, _, oursErr = r.Next()
	})
	pion := alloc(func() {
		r, _, err := ivfreader.NewWith(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.ParseNextFrame(); err != nil {
			t.Fatal(err)
		}
		_, _, pionErr = r.ParseNextFrame()
	})
	t.Logf("64 MiB frame header: ours allocates %d KiB, %v; pion %d KiB, %v", ours>>10, oursErr, pion>>10, pionErr)
	if !errors.Is(oursErr, ErrBadFile) {
		t.Errorf("ours: %v, want ErrBadFile", oursErr)
	}
	if ours > 1<<20 {
		t.Errorf("ours allocated %d bytes for a bad frame header", ours)
	}
}

func BenchmarkIVFReadOurs(b *testing.B) {
	p := ivfFile(b, ivfFrames())
	for b.Loop() {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		r, err := NewIVFReader(f)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, _, err := r.Next(); err != nil {
				break
			}
		}
		f.Close()
	}
}

func BenchmarkIVFReadPion(b *testing.B) {
	p := ivfFile(b, ivfFrames())
	for b.Loop() {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		r, _, err := ivfreader.NewWith(f)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, _, err := r.ParseNextFrame(); err != nil {
				break
			}
		}
		f.Close()
	}
}
