package video

// These tests and benchmarks compare the kitty and sixel encoders of this
// package with charmbracelet/x/ansi's (issue 14 item 7). The figures and
// the decision are in docs/video.md ("Terminal pictures: ours or x/ansi").
//
//	go test -run 'TestANSI' -v ./video
//	go test -run '^$' -bench 'Encode(Sixel|Kitty)' -benchmem ./video

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"image"
	"image/color"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi/kitty"
	"github.com/charmbracelet/x/ansi/sixel"
)

// The picture both encoders get: 320x176 (a MaxPixels-sized area of 40x11
// cells of 8x16), once the test pattern, once a camera-like picture
// (smooth gradients plus sensor noise), which a fixed palette finds harder.
const cmpW, cmpH = 320, 176

func cmpPictures() map[string]*image.RGBA {
	pat := image.NewRGBA(image.Rect(0, 0, cmpW, cmpH))
	var sc scaler
	sc.fit(pat, PatternFrame(cmpW, cmpH, 7), FillModeFill, 0)
	cam := image.NewRGBA(image.Rect(0, 0, cmpW, cmpH))
	s := uint32(1)
	for y := range cmpH {
		for x := range cmpW {
			s ^= s << 13
			s ^= s >> 17
			s ^= s << 5
			n := int(s%17) - 8
			fx, fy := float64(x)/cmpW, float64(y)/cmpH
			c := func(v float64) uint8 { return uint8(max(0, min(255, int(v*255)+n))) }
			cam.SetRGBA(x, y, color.RGBA{c(0.5 + 0.4*math.Sin(6*fx+fy)), c(0.3 + 0.5*fy*fx), c(0.6 - 0.4*fy + 0.2*math.Cos(9*fx)), 255})
		}
	}
	return map[string]*image.RGBA{"pattern": pat, "camera": cam}
}

// rgbPSNR is the PSNR in dB over R, G and B of two pictures of a size.
func rgbPSNR(a, b image.Image) float64 {
	var se float64
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, _ := a.At(x, y).RGBA()
			br, bg, bb, _ := b.At(x, y).RGBA()
			for _, d := range [3]float64{float64(ar>>8) - float64(br>>8), float64(ag>>8) - float64(bg>>8), float64(ab>>8) - float64(bb>>8)} {
				se += d * d
			}
		}
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(3*r.Dx()*r.Dy())))
}

func oursRenderer(m Mode) *Renderer {
	return &Renderer{Mode: m, CellWidth: 8, CellHeight: 16, MaxPixels: cmpW * cmpH}
}

var dcsRe = regexp.MustCompile(`(?s)\x1bP([^q]*)q(.*)\x1b\\`)

// sixelNum reads the decimal number at d[i:] and returns it and the index
// after it.
func sixelNum(d string, i int) (int, int) {
	n := 0
	for i < len(d) && d[i] >= '0' && d[i] <= '9' {
		n = n*10 + int(d[i]-'0')
		i++
	}
	return n, i
}

// sixelColour reads a colour command after its '#' at d[i:]: a register,
// defined in pal when RGB components follow. It returns the register's
// colour and the index after the command.
func sixelColour(t *testing.T, d string, i int, pal map[int]color.RGBA) (color.RGBA, int) {
	t.Helper()
	var n int
	n, i = sixelNum(d, i)
	if i < len(d) && d[i] == ';' {
		var v [4]int
		for k := 0; k < 4 && i < len(d) && d[i] == ';'; k++ {
			v[k], i = sixelNum(d, i+1)
		}
		if v[0] != 2 {
			t.Fatalf("colour space %d (only RGB)", v[0])
		}
		pc := func(p int) uint8 { return uint8((p*255 + 50) / 100) }
		pal[n] = color.RGBA{pc(v[1]), pc(v[2]), pc(v[3]), 255}
	}
	return pal[n], i
}

// decodeSixel decodes the DCS sixel sequence in s into a w x h picture.
// x/ansi's own sixel.Decoder is not used: it leaves most pixels of either
// encoder's output transparent (checked with v0.11.9), so this is a small
// decoder of what both emit: #n;2;r;g;b (percent) and #n;2;r;g;b with
// 0..100, #n, $, -, !n and the data characters.
func decodeSixel(t *testing.T, s string, w, h int) image.Image {
	t.Helper()
	m := dcsRe.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no sixel DCS in %q...", s[:min(len(s), 40)])
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	d := m[2]
	pal := map[int]color.RGBA{}
	var cur color.RGBA
	x, band := 0, 0
	num := func(i int) (int, int) { return sixelNum(d, i) }
	for i := 0; i < len(d); {
		c := d[i]
		switch {
		case c == '"': // raster attributes: skip Pan;Pad;Ph;Pv
			i++
			for i < len(d) && (d[i] == ';' || d[i] >= '0' && d[i] <= '9') {
				i++
			}
		case c == '#':
			cur, i = sixelColour(t, d, i+1, pal)
		case c == '$':
			x = 0
			i++
		case c == '-':
			x, band = 0, band+6
			i++
		case c == '!':
			var n int
			n, i = num(i + 1)
			for range n {
				put(img, x, band, d[i]-63, cur)
				x++
			}
			i++
		case c >= 63 && c <= 126:
			put(img, x, band, c-63, cur)
			x++
			i++
		default:
			i++
		}
	}
	return img
}

func put(img *image.RGBA, x, band int, bits byte, c color.RGBA) {
	for k := range 6 {
		if bits&(1<<k) != 0 && image.Pt(x, band+k).In(img.Rect) {
			img.SetRGBA(x, band+k, c)
		}
	}
}

func ansiSixel(t testing.TB, img image.Image) string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("\x1bP0;1;0q")
	if err := (&sixel.Encoder{}).Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\x1b\\")
	return b.String()
}

// TestANSISixelQuality: what each encoder's sixels decode to, against the
// picture given. Ours must stay a usable picture (above 22 dB: a fixed 216-colour cube); the log
// gives both figures for docs/video.md.
func TestANSISixelQuality(t *testing.T) {
	for name, pic := range cmpPictures() {
		t.Run(name, func(t *testing.T) {
			ours := oursRenderer(ModeSixel).Render(pic, cmpW/8, cmpH/16)
			theirs := ansiSixel(t, pic)
			po := rgbPSNR(pic, decodeSixel(t, ours, cmpW, cmpH))
			pt := rgbPSNR(pic, decodeSixel(t, theirs, cmpW, cmpH))
			t.Logf("%s: ours %.1f dB, %d bytes; x/ansi %.1f dB, %d bytes", name, po, len(ours), pt, len(theirs))
			if po < 22 {
				t.Errorf("our sixels decode to %.1f dB, want >= 22", po)
			}
		})
	}
}

var kittyPayloadRe = regexp.MustCompile(`\x1b_G([^;]*);([^\x1b]*)\x1b\\`)

// kittyPixels joins the chunks of a kitty transmission and inflates them
// to the RGB bytes the terminal gets.
func kittyPixels(t *testing.T, s string) []byte {
	t.Helper()
	var enc strings.Builder
	for _, m := range kittyPayloadRe.FindAllStringSubmatch(s, -1) {
		enc.WriteString(m[2])
	}
	z, err := base64.StdEncoding.DecodeString(enc.String())
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ansiKitty(t testing.TB, img image.Image) string {
	t.Helper()
	var b bytes.Buffer
	err := kitty.EncodeGraphics(&b, img, &kitty.Options{Action: kitty.TransmitAndPut, Format: kitty.RGB,
		Compression: kitty.Zlib, Transmission: kitty.Direct, Chunk: true, Quiet: 2, ID: 1, PlacementID: 1,
		Columns: cmpW / 8, Rows: cmpH / 16, DoNotMoveCursor: true})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestANSIKittySamePixels: kitty is lossless both ways; both encoders must
// hand the terminal exactly the picture's pixels.
func TestANSIKittySamePixels(t *testing.T) {
	for name, pic := range cmpPictures() {
		t.Run(name, func(t *testing.T) {
			want := make([]byte, 0, 3*cmpW*cmpH)
			for i := 0; i < len(pic.Pix); i += 4 {
				want = append(want, pic.Pix[i], pic.Pix[i+1], pic.Pix[i+2])
			}
			ours := oursRenderer(ModeKitty).Render(pic, cmpW/8, cmpH/16)
			theirs := ansiKitty(t, pic)
			if !bytes.Equal(kittyPixels(t, ours), want) {
				t.Errorf("our kitty pixels differ from the picture")
			}
			if !bytes.Equal(kittyPixels(t, theirs), want) {
				t.Errorf("x/ansi kitty pixels differ from the picture")
			}
			t.Logf("%s: ours %d bytes, x/ansi %d bytes", name, len(ours), len(theirs))
		})
	}
}

func benchPic(b *testing.B) image.Image {
	b.Helper()
	return cmpPictures()["camera"]
}

func BenchmarkEncodeSixelOurs(b *testing.B) {
	pic, r := benchPic(b), oursRenderer(ModeSixel)
	for b.Loop() {
		_ = r.Render(pic, cmpW/8, cmpH/16)
	}
}

func BenchmarkEncodeSixelANSI(b *testing.B) {
	pic := benchPic(b)
	for b.Loop() {
		_ = ansiSixel(b, pic)
	}
}

func BenchmarkEncodeKittyOurs(b *testing.B) {
	pic, r := benchPic(b), oursRenderer(ModeKitty)
	for b.Loop() {
		_ = r.Render(pic, cmpW/8, cmpH/16)
	}
}

func BenchmarkEncodeKittyANSI(b *testing.B) {
	pic := benchPic(b)
	for b.Loop() {
		_ = ansiKitty(b, pic)
	}
}
