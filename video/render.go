package video

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"image"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Mode is how a Renderer draws pictures in a terminal.
type Mode int

const (
	// ModeTruecolor draws half-blocks (▀, foreground = top pixel,
	// background = bottom pixel) with 24-bit colours: 2 pixel rows per
	// cell. It works in nearly every terminal.
	ModeTruecolor Mode = iota
	// Mode256 is half-blocks in the xterm 256-colour palette.
	Mode256
	// ModeGray is half-blocks in the 256-colour palette's grey ramp.
	ModeGray
	// ModeASCII uses no escape sequences at all: one character of a
	// brightness ramp per cell (for NO_COLOR and dumb terminals).
	ModeASCII
	// ModeKitty sends the picture with the kitty graphics protocol
	// (kitty, WezTerm, Ghostty, Konsole).
	ModeKitty
	// ModeSixel sends the picture as sixels (foot, mlterm, Windows
	// Terminal, iTerm2, xterm -ti vt340, ...).
	ModeSixel
)

var modeNames = [...]string{"truecolor", "256", "gray", "ascii", "kitty", "sixel"}

func (m Mode) String() string {
	if m >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseMode parses a mode name: truecolor (24bit, rgb), 256 (256color),
// gray (grey), ascii (none, text), kitty, sixel.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "truecolor", "24bit", "rgb", "direct":
		return ModeTruecolor, nil
	case "256", "256color", "ansi256":
		return Mode256, nil
	case "gray", "grey", "grayscale", "greyscale":
		return ModeGray, nil
	case "ascii", "none", "text", "nocolor":
		return ModeASCII, nil
	case "kitty":
		return ModeKitty, nil
	case "sixel":
		return ModeSixel, nil
	}
	return 0, fmt.Errorf("video: unknown render mode %q (want truecolor, 256, gray, ascii, kitty or sixel)", s)
}

// RenderModeEnv is the environment variable that overrides DetectMode
// (any ParseMode name; "auto" or empty detects).
const RenderModeEnv = "TERMCALL_VIDEO_RENDER"

// DetectMode picks the best mode for the terminal described by env
// (pass os.Getenv):
//
//   - TERMCALL_VIDEO_RENDER, when a valid mode name, wins;
//   - NO_COLOR (non-empty) or TERM=dumb: ModeASCII;
//   - inside tmux or screen graphics are not passed through: truecolor
//     when COLORTERM says so, else 256 colours;
//   - kitty (KITTY_WINDOW_ID, TERM=xterm-kitty), Ghostty, WezTerm and
//     Konsole: ModeKitty;
//   - foot, mlterm, contour, yaft, iTerm2, Windows Terminal (WT_SESSION)
//     : ModeSixel;
//   - Apple Terminal: Mode256;
//   - everything else: ModeTruecolor.
func DetectMode(env func(string) string) Mode {
	if m, ok := modeOverride(env); ok {
		return m
	}
	term := strings.ToLower(env("TERM"))
	prog := strings.ToLower(env("TERM_PROGRAM"))
	colorterm := strings.ToLower(env("COLORTERM"))
	truecolor := colorterm == "truecolor" || colorterm == "24bit"
	switch {
	case env("NO_COLOR") != "" || term == "dumb":
		return ModeASCII
	case multiplexed(env, term):
		if truecolor {
			return ModeTruecolor
		}
		return Mode256
	case kittyTerminals.match(env, term, prog):
		return ModeKitty
	case sixelTerminals.match(env, term, prog):
		return ModeSixel
	case prog == "apple_terminal" && !truecolor:
		return Mode256
	}
	return ModeTruecolor
}

// modeOverride is the mode RenderModeEnv sets (unset, "auto" or an
// unknown mode: none).
func modeOverride(env func(string) string) (Mode, bool) {
	v := env(RenderModeEnv)
	if v == "" || strings.EqualFold(v, "auto") {
		return 0, false
	}
	m, err := ParseMode(v)
	return m, err == nil
}

// multiplexed reports whether the terminal is tmux or screen.
func multiplexed(env func(string) string, term string) bool {
	return env("TMUX") != "" || strings.HasPrefix(term, "screen") || strings.HasPrefix(term, "tmux")
}

// terminals names a family of terminals by the environment variables
// they set, and the (lower-case) TERM substrings or prefixes and
// TERM_PROGRAM values they use.
type terminals struct {
	envs         []string
	termContains []string
	termPrefixes []string
	progs        []string
}

// The terminals that show kitty graphics and those that show sixels.
var (
	kittyTerminals = terminals{
		envs:         []string{"KITTY_WINDOW_ID", "KONSOLE_VERSION"},
		termContains: []string{"kitty", "ghostty", "wezterm"},
		progs:        []string{"ghostty", "wezterm"},
	}
	sixelTerminals = terminals{
		envs:         []string{"WT_SESSION"},
		termPrefixes: []string{"foot", "mlterm", "contour", "yaft"},
		progs:        []string{"iterm.app"},
	}
)

func (t terminals) match(env func(string) string, term, prog string) bool {
	return slices.ContainsFunc(t.envs, func(e string) bool { return env(e) != "" }) ||
		slices.ContainsFunc(t.termContains, func(s string) bool { return strings.Contains(term, s) }) ||
		slices.ContainsFunc(t.termPrefixes, func(s string) bool { return strings.HasPrefix(term, s) }) ||
		slices.Contains(t.progs, prog)
}

// Renderer draws pictures into a terminal area of cols x rows cells. It
// keeps buffers between calls: use one per area, from one goroutine.
type Renderer struct {
	Mode     Mode
	FillMode FillMode // how the picture fills the area (default Fill)
	Rotation Rotation // clockwise rotation applied first
	// CellWidth and CellHeight are a cell's size in pixels for kitty and
	// sixel (default 8x16; see TerminalCellSize).
	CellWidth, CellHeight int
	// MaxPixels caps the pixel count of kitty and sixel pictures
	// (default 640*360, the size of a 108 stream): kitty scales the picture up to the area; sixel
	// shows it at its size from the area's top-left corner.
	MaxPixels int
	// KittyID is the kitty image and placement ID (default 1): every
	// frame replaces the previous one in place.
	KittyID uint32
	// KittyRaw sends uncompressed RGB to kitty (default: zlib).
	KittyRaw bool

	buf []byte
	fit *image.RGBA
	sc  scaler
	zb  bytes.Buffer
	zw  *zlib.Writer
	rgb []byte
	enc []byte
	six sixelState
}

// NewRenderer returns a Renderer in mode.
func NewRenderer(mode Mode) *Renderer { return &Renderer{Mode: mode} }

// Render returns what draws img in an area of cols x rows cells.
//
// The text modes (truecolor, 256, gray, ascii) return rows lines joined
// by "\n" (no trailing newline), each exactly cols cells wide and ending
// with an SGR reset: they embed in any layout. Kitty and sixel return
// one escape sequence to write with the cursor at the area's top-left
// corner; the cursor does not move (kitty C=1; sixel is wrapped in
// DECSC/DECRC). A nil img draws black.
func (r *Renderer) Render(img image.Image, cols, rows int) string {
	if cols <= 0 || rows <= 0 {
		return ""
	}
	if img == nil {
		img = image.NewRGBA(image.Rect(0, 0, 0, 0))
	}
	r.buf = r.buf[:0]
	switch r.Mode {
	case ModeKitty:
		r.renderKitty(img, cols, rows)
	case ModeSixel:
		r.renderSixel(img, cols, rows)
	case ModeASCII:
		r.renderASCII(img, cols, rows)
	default:
		r.renderBlocks(img, cols, rows)
	}
	return string(r.buf)
}

func (r *Renderer) fitTo(img image.Image, w, h int) *image.RGBA {
	if r.fit == nil || r.fit.Rect.Dx() != w || r.fit.Rect.Dy() != h {
		r.fit = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	r.sc.fit(r.fit, img, r.FillMode, r.Rotation)
	return r.fit
}

// cellAspect: the picture area for half-blocks is cols x 2*rows pixels,
// which assumes cells twice as tall as wide (true of nearly all fonts).

const (
	sgrFG = 0
	sgrBG = 1
)

func (r *Renderer) renderBlocks(img image.Image, cols, rows int) {
	pic := r.fitTo(img, cols, rows*2)
	const none = ^uint32(0)
	for y := 0; y < rows; y++ {
		if y > 0 {
			r.buf = append(r.buf, '\n')
		}
		fg, bg := none, none
		top := pic.Pix[pic.PixOffset(0, 2*y):]
		bot := pic.Pix[pic.PixOffset(0, 2*y+1):]
		for x := 0; x < cols; x++ {
			t := r.colorKey(top[x*4], top[x*4+1], top[x*4+2])
			b := r.colorKey(bot[x*4], bot[x*4+1], bot[x*4+2])
			if t == b {
				if bg != b {
					r.sgr(none, b)
					bg = b
				}
				r.buf = append(r.buf, ' ')
				continue
			}
			nf, nb := none, none
			if fg != t {
				nf, fg = t, t
			}
			if bg != b {
				nb, bg = b, b
			}
			if nf != none || nb != none {
				r.sgr(nf, nb)
			}
			r.buf = append(r.buf, "▀"...)
		}
		r.buf = append(r.buf, "\x1b[0m"...)
	}
}

// colorKey maps a pixel to the mode's colour: 0xRRGGBB for truecolor, a
// palette index otherwise.
func (r *Renderer) colorKey(R, G, B byte) uint32 {
	switch r.Mode {
	case Mode256:
		return uint32(xterm256(R, G, B))
	case ModeGray:
		return uint32(xtermGray(R, G, B))
	}
	return uint32(R)<<16 | uint32(G)<<8 | uint32(B)
}

// sgr emits one SGR setting fg and/or bg (none = ^0 leaves it).
func (r *Renderer) sgr(fg, bg uint32) {
	const none = ^uint32(0)
	r.buf = append(r.buf, "\x1b["...)
	first := true
	for i, c := range [2]uint32{fg, bg} {
		if c == none {
			continue
		}
		if !first {
			r.buf = append(r.buf, ';')
		}
		first = false
		if i == sgrFG {
			r.buf = append(r.buf, "38;"...)
		} else {
			r.buf = append(r.buf, "48;"...)
		}
		if r.Mode == ModeTruecolor {
			r.buf = append(r.buf, "2;"...)
			r.buf = strconv.AppendUint(r.buf, uint64(c>>16), 10)
			r.buf = append(r.buf, ';')
			r.buf = strconv.AppendUint(r.buf, uint64(c>>8&0xff), 10)
			r.buf = append(r.buf, ';')
			r.buf = strconv.AppendUint(r.buf, uint64(c&0xff), 10)
		} else {
			r.buf = append(r.buf, "5;"...)
			r.buf = strconv.AppendUint(r.buf, uint64(c), 10)
		}
	}
	r.buf = append(r.buf, 'm')
}

// cube6 are the levels of the xterm 6x6x6 colour cube.
var cube6 = [6]int{0, 95, 135, 175, 215, 255}

func nearestCube(v byte) int {
	switch {
	case v < 48:
		return 0
	case v < 115:
		return 1
	}
	return min(5, (int(v)-35)/40)
}

func sq(x int) int { return x * x }

// xterm256 returns the nearest xterm 256-colour index (cube 16-231 or
// grey ramp 232-255) to an RGB colour.
func xterm256(R, G, B byte) uint8 {
	ri, gi, bi := nearestCube(R), nearestCube(G), nearestCube(B)
	cr, cg, cb := cube6[ri], cube6[gi], cube6[bi]
	cubeDist := sq(int(R)-cr) + sq(int(G)-cg) + sq(int(B)-cb)
	avg := (int(R) + int(G) + int(B)) / 3
	gi2 := 0
	if avg > 238 {
		gi2 = 23
	} else if avg > 8 {
		gi2 = (avg - 3) / 10
	}
	gv := 8 + 10*gi2
	grayDist := sq(int(R)-gv) + sq(int(G)-gv) + sq(int(B)-gv)
	if grayDist < cubeDist {
		return uint8(232 + gi2)
	}
	return uint8(16 + 36*ri + 6*gi + bi)
}

// luma returns BT.601 luma 0-255 of an RGB colour.
func luma(R, G, B byte) int {
	return (19595*int(R) + 38470*int(G) + 7471*int(B) + 1<<15) >> 16
}

// xtermGray maps a colour to the grey ramp (232-255) or black (16) and
// white (231): 26 levels.
func xtermGray(R, G, B byte) uint8 {
	l := luma(R, G, B)
	// levels: 0, 8, 18, ..., 238, 255
	switch {
	case l < 4:
		return 16
	case l > 246:
		return 231
	}
	i := (l - 3) / 10
	if i > 23 {
		i = 23
	}
	return uint8(232 + i)
}

// asciiRamp runs from dark to bright (for light text on a dark background).
const asciiRamp = " .:-=+*#%@"

func (r *Renderer) renderASCII(img image.Image, cols, rows int) {
	pic := r.fitTo(img, cols, rows*2)
	for y := 0; y < rows; y++ {
		if y > 0 {
			r.buf = append(r.buf, '\n')
		}
		top := pic.Pix[pic.PixOffset(0, 2*y):]
		bot := pic.Pix[pic.PixOffset(0, 2*y+1):]
		for x := 0; x < cols; x++ {
			l := luma(top[x*4], top[x*4+1], top[x*4+2]) + luma(bot[x*4], bot[x*4+1], bot[x*4+2])
			r.buf = append(r.buf, asciiRamp[l*len(asciiRamp)/512])
		}
	}
}

// pixelArea returns the picture size for kitty and sixel: the area in
// pixels, scaled down to MaxPixels keeping its aspect.
func (r *Renderer) pixelArea(cols, rows int) (w, h int) {
	cw, ch := r.CellWidth, r.CellHeight
	if cw <= 0 || ch <= 0 {
		cw, ch = 8, 16
	}
	w, h = cols*cw, rows*ch
	maxPx := r.MaxPixels
	if maxPx <= 0 {
		maxPx = 640 * 360
	}
	if w*h > maxPx {
		// scale both sides by sqrt(maxPx / (w*h))
		s := math.Sqrt(float64(maxPx) / float64(w*h))
		w, h = max(1, int(float64(w)*s)), max(1, int(float64(h)*s))
	}
	return w, h
}

// renderKitty emits a kitty graphics "transmit and display" command with
// the picture as 24-bit RGB (zlib-compressed unless KittyRaw), base64 in
// chunks of 4096 bytes, scaled by the terminal to cols x rows cells.
func (r *Renderer) renderKitty(img image.Image, cols, rows int) {
	w, h := r.pixelArea(cols, rows)
	enc := r.kittyPayload(r.fitTo(img, w, h), w, h)
	id := r.KittyID
	if id == 0 {
		id = 1
	}
	const chunk = 4096
	for off := 0; off < len(enc) || off == 0; off += chunk {
		end := min(off+chunk, len(enc))
		more := 0
		if end < len(enc) {
			more = 1
		}
		r.buf = append(r.buf, "\x1b_G"...)
		if off == 0 {
			r.buf = fmt.Appendf(r.buf, "a=T,f=24,s=%d,v=%d,c=%d,r=%d,i=%d,p=%d,q=2,C=1,", w, h, cols, rows, id, id)
			if !r.KittyRaw {
				r.buf = append(r.buf, "o=z,"...)
			}
		}
		r.buf = fmt.Appendf(r.buf, "m=%d;", more)
		r.buf = append(r.buf, enc[off:end]...)
		r.buf = append(r.buf, "\x1b\\"...)
		if end == len(enc) {
			break
		}
	}
}

// kittyPayload is the w x h picture as 24-bit RGB, zlib-compressed
// unless KittyRaw, in base64 (in the renderer's buffers).
func (r *Renderer) kittyPayload(pic *image.RGBA, w, h int) []byte {
	rgb := r.rgb[:0]
	for y := 0; y < h; y++ {
		row := pic.Pix[pic.PixOffset(0, y):pic.PixOffset(w, y)]
		for i := 0; i < len(row); i += 4 {
			rgb = append(rgb, row[i], row[i+1], row[i+2])
		}
	}
	r.rgb = rgb
	data := rgb
	if !r.KittyRaw {
		data = r.deflate(rgb)
	}
	n := base64.StdEncoding.EncodedLen(len(data))
	if cap(r.enc) < n {
		r.enc = make([]byte, n)
	}
	enc := r.enc[:n]
	base64.StdEncoding.Encode(enc, data)
	return enc
}

// deflate zlib-compresses b (fastest level) into the renderer's buffer.
func (r *Renderer) deflate(b []byte) []byte {
	r.zb.Reset()
	if r.zw == nil {
		r.zw, _ = zlib.NewWriterLevel(&r.zb, zlib.BestSpeed)
	} else {
		r.zw.Reset(&r.zb)
	}
	_, _ = r.zw.Write(b)
	r.zw.Close()
	return r.zb.Bytes()
}

// KittyDelete returns the kitty command that removes the renderer's
// picture (when the view closes).
func (r *Renderer) KittyDelete() string {
	id := r.KittyID
	if id == 0 {
		id = 1
	}
	return fmt.Sprintf("\x1b_Ga=d,d=I,i=%d,q=2\x1b\\", id)
}
