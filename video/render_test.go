package video

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"flag"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenImage is a 6x4 picture: a colour row, its copy (so the first
// cell row has equal top and bottom pixels), then greys and a repeat.
func goldenImage() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 6, 4))
	cols := []color.RGBA{{255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}, {255, 255, 0, 255}, {0, 255, 255, 255}, {255, 0, 255, 255}}
	for x := 0; x < 6; x++ {
		img.SetRGBA(x, 0, cols[x])
		img.SetRGBA(x, 1, cols[x])
		g := uint8(x * 51)
		img.SetRGBA(x, 2, color.RGBA{g, g, g, 255})
		img.SetRGBA(x, 3, color.RGBA{128, 64, 32, 255})
	}
	return img
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update)", err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\x1b"), strings.Split(got, "\x1b")); diff != "" {
		t.Errorf("%s differs (-want +got, split at ESC):\n%s", name, diff)
	}
}

func TestRenderGolden(t *testing.T) {
	for _, m := range []Mode{ModeTruecolor, Mode256, ModeGray, ModeASCII, ModeKitty, ModeSixel} {
		t.Run(m.String(), func(t *testing.T) {
			r := &Renderer{Mode: m, CellWidth: 1, CellHeight: 2, KittyRaw: true}
			got := r.Render(goldenImage(), 6, 2)
			checkGolden(t, "render_"+m.String(), got)
			// rendering again gives the same bytes (buffers are reused)
			if again := r.Render(goldenImage(), 6, 2); again != got {
				t.Error("second render differs")
			}
		})
	}
}

var sgrRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestRenderTextShape(t *testing.T) {
	img := PatternFrame(640, 360, 3)
	for _, m := range []Mode{ModeTruecolor, Mode256, ModeGray, ModeASCII} {
		r := NewRenderer(m)
		for _, fm := range []FillMode{FillModeFill, FillModeFit} {
			r.FillMode = fm
			out := r.Render(img, 37, 11)
			lines := strings.Split(out, "\n")
			if len(lines) != 11 {
				t.Fatalf("%v: %d lines", m, len(lines))
			}
			for i, l := range lines {
				plain := sgrRE.ReplaceAllString(l, "")
				if n := utf8.RuneCountInString(plain); n != 37 {
					t.Errorf("%v line %d: %d cells", m, i, n)
				}
				if m != ModeASCII && !strings.HasSuffix(l, "\x1b[0m") {
					t.Errorf("%v line %d does not end with a reset", m, i)
				}
				if m == ModeASCII && strings.Contains(l, "\x1b") {
					t.Errorf("ascii line %d has escapes", i)
				}
			}
		}
	}
	if NewRenderer(ModeTruecolor).Render(img, 0, 5) != "" {
		t.Error("zero columns")
	}
	if out := NewRenderer(ModeASCII).Render(nil, 3, 1); out != "   " {
		t.Errorf("nil image: %q", out)
	}
}

func TestRenderKittyCompressed(t *testing.T) {
	r := &Renderer{Mode: ModeKitty, MaxPixels: 640 * 384}
	out := r.Render(PatternFrame(640, 360, 0), 80, 24)
	// chunks: first with the keys, then m=1 continuation, last m=0
	re := regexp.MustCompile("\x1b_G([^;]*);([^\x1b]*)\x1b\\\\")
	ms := re.FindAllStringSubmatch(out, -1)
	if len(ms) < 2 || strings.Join(mapFirst(ms), "") != out {
		t.Fatalf("%d chunks, or bytes outside chunks", len(ms))
	}
	var all strings.Builder
	for i, m := range ms {
		if len(m[2]) > 4096 {
			t.Errorf("chunk %d is %d bytes", i, len(m[2]))
		}
		last := i == len(ms)-1
		if strings.HasSuffix(m[1], "m=1") == last {
			t.Errorf("chunk %d keys %q", i, m[1])
		}
		all.WriteString(m[2])
	}
	if !strings.HasPrefix(ms[0][1], "a=T,f=24,s=640,v=384,c=80,r=24,i=1,p=1,q=2,C=1,o=z,") {
		t.Errorf("keys %q", ms[0][1])
	}
	z, err := base64.StdEncoding.DecodeString(all.String())
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	rgb, err := io.ReadAll(zr)
	if err != nil || len(rgb) != 640*384*3 {
		t.Fatalf("payload %d bytes, %v", len(rgb), err)
	}
	if !strings.Contains(r.KittyDelete(), "a=d,d=I,i=1") {
		t.Error(r.KittyDelete())
	}
}

func mapFirst(ms [][]string) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m[0])
	}
	return out
}

func TestRenderSixelShape(t *testing.T) {
	r := &Renderer{Mode: ModeSixel, CellWidth: 10, CellHeight: 20}
	out := r.Render(PatternFrame(640, 360, 0), 40, 12)
	if !strings.HasPrefix(out, "\x1b7\x1bP0;1;0q\"1;1;400;240#") || !strings.HasSuffix(out, "\x1b\\\x1b8") {
		t.Errorf("framing: %q ... %q", out[:30], out[len(out)-10:])
	}
	if n := strings.Count(out, "-"); n != 240/6-1 {
		t.Errorf("%d band separators", n)
	}
	// MaxPixels caps the picture
	r.MaxPixels = 100 * 60
	if out := r.Render(PatternFrame(640, 360, 0), 40, 12); !strings.Contains(out, "\"1;1;100;60#") {
		t.Errorf("capped: %q", out[:40])
	}
}

func TestXterm256(t *testing.T) {
	for _, c := range []struct {
		r, g, b byte
		want    uint8
	}{
		{0, 0, 0, 16}, {255, 255, 255, 231}, {255, 0, 0, 196}, {0, 255, 0, 46}, {0, 0, 255, 21},
		{128, 128, 128, 244}, {8, 8, 8, 232}, {95, 135, 175, 67},
	} {
		if got := xterm256(c.r, c.g, c.b); got != c.want {
			t.Errorf("xterm256(%d,%d,%d) = %d want %d", c.r, c.g, c.b, got, c.want)
		}
	}
}

func TestDetectMode(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want Mode
	}{
		{map[string]string{}, ModeTruecolor},
		{map[string]string{"TERM": "xterm-256color", "COLORTERM": "truecolor"}, ModeTruecolor},
		{map[string]string{"TERM": "xterm-kitty"}, ModeKitty},
		{map[string]string{"TERM": "xterm-256color", "KITTY_WINDOW_ID": "3"}, ModeKitty},
		{map[string]string{"TERM_PROGRAM": "WezTerm"}, ModeKitty},
		{map[string]string{"TERM_PROGRAM": "ghostty", "TERM": "xterm-ghostty"}, ModeKitty},
		{map[string]string{"TERM": "foot"}, ModeSixel},
		{map[string]string{"TERM": "mlterm"}, ModeSixel},
		{map[string]string{"TERM_PROGRAM": "iTerm.app"}, ModeSixel},
		{map[string]string{"WT_SESSION": "x"}, ModeSixel},
		{map[string]string{"TERM_PROGRAM": "Apple_Terminal", "TERM": "xterm-256color"}, Mode256},
		{map[string]string{"TERM": "screen-256color", "TMUX": "/tmp/x", "KITTY_WINDOW_ID": "1"}, Mode256},
		{map[string]string{"TERM": "tmux-256color", "COLORTERM": "truecolor"}, ModeTruecolor},
		{map[string]string{"TERM": "xterm-kitty", "NO_COLOR": "1"}, ModeASCII},
		{map[string]string{"TERM": "dumb"}, ModeASCII},
		{map[string]string{"TERM": "xterm-kitty", "NO_COLOR": ""}, ModeKitty},
		{map[string]string{"TERM": "xterm-kitty", RenderModeEnv: "256"}, Mode256},
		{map[string]string{"NO_COLOR": "1", RenderModeEnv: "gray"}, ModeGray},
		{map[string]string{"TERM": "foot", RenderModeEnv: "auto"}, ModeSixel},
		{map[string]string{"TERM": "foot", RenderModeEnv: "bogus"}, ModeSixel},
	}
	for _, c := range cases {
		got := DetectMode(func(k string) string { return c.env[k] })
		if got != c.want {
			t.Errorf("%v: %v, want %v", c.env, got, c.want)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{ModeTruecolor, Mode256, ModeGray, ModeASCII, ModeKitty, ModeSixel} {
		if got, err := ParseMode(m.String()); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMode("vga"); err == nil {
		t.Error("vga accepted")
	}
}
