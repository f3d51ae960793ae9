package video

import (
	"image"
	"slices"
	"strconv"
)

// sixelState holds the sixel encoder's buffers.
type sixelState struct {
	idx  []uint8 // palette index per pixel
	rows []byte  // per colour, one band's sixel bits per column: 216*w
	list []int
}

// sixelLevel is the palette's 6 levels per channel (a 6x6x6 cube).
func sixelLevel(v byte) uint8 { return uint8((int(v)*5 + 127) / 255) }

// renderSixel emits the picture as sixels with a fixed 216-colour
// palette (6x6x6 cube, nearest colour), only the used colours defined,
// runs compressed with "!n", wrapped in DECSC/DECRC.
func (r *Renderer) renderSixel(img image.Image, cols, rows int) {
	w, h := r.pixelArea(cols, rows)
	pic := r.fitTo(img, w, h)
	s := &r.six
	used := s.quantize(pic, w, h)
	b := r.buf
	b = append(b, "\x1b7\x1bP0;1;0q\"1;1;"...)
	b = strconv.AppendInt(b, int64(w), 10)
	b = append(b, ';')
	b = strconv.AppendInt(b, int64(h), 10)
	b = appendSixelPalette(b, &used)
	for band := 0; band < h; band += 6 {
		if band > 0 {
			b = append(b, '-')
		}
		for i, c := range s.band(band, w, h) {
			if i > 0 {
				b = append(b, '$')
			}
			b = append(b, '#')
			b = strconv.AppendInt(b, int64(c), 10)
			b = appendSixelRuns(b, s.rows[c*w:(c+1)*w])
		}
	}
	b = append(b, "\x1b\\\x1b8"...)
	r.buf = b
}

// quantize maps each pixel of the w x h picture to its palette index and
// returns which colours are used.
func (s *sixelState) quantize(pic *image.RGBA, w, h int) (used [216]bool) {
	if cap(s.idx) < w*h {
		s.idx = make([]uint8, w*h)
	}
	s.idx = s.idx[:w*h]
	if cap(s.rows) < 216*w {
		s.rows = make([]byte, 216*w)
	}
	s.rows = s.rows[:216*w]
	for y := 0; y < h; y++ {
		row := pic.Pix[pic.PixOffset(0, y):]
		for x := 0; x < w; x++ {
			c := 36*sixelLevel(row[x*4]) + 6*sixelLevel(row[x*4+1]) + sixelLevel(row[x*4+2])
			s.idx[y*w+x] = c
			used[c] = true
		}
	}
	return used
}

// appendSixelPalette defines the used colours (RGB in percent).
func appendSixelPalette(b []byte, used *[216]bool) []byte {
	for c := range used {
		if !used[c] {
			continue
		}
		b = append(b, '#')
		b = strconv.AppendInt(b, int64(c), 10)
		b = append(b, ";2"...)
		for _, l := range [3]int{c / 36, c / 6 % 6, c % 6} {
			b = append(b, ';')
			b = strconv.AppendInt(b, int64(l*20), 10) // percent: 0, 20, ..., 100
		}
	}
	return b
}

// band fills, for the six pixel rows from band, each present colour's
// sixel bits per column (s.rows) and returns the colours present, sorted.
func (s *sixelState) band(band, w, h int) []int {
	var present [216]bool
	list := s.list[:0]
	for k := 0; k < 6 && band+k < h; k++ {
		line := s.idx[(band+k)*w : (band+k+1)*w]
		for x, c := range line {
			if !present[c] {
				present[c] = true
				list = append(list, int(c))
				clear(s.rows[int(c)*w : int(c+1)*w])
			}
			s.rows[int(c)*w+x] |= 1 << k
		}
	}
	slices.Sort(list)
	s.list = list
	return list
}

// appendSixelRuns appends one colour's sixels of a band, runs of more than
// three compressed as "!n", the trailing empty columns dropped.
func appendSixelRuns(b, bits []byte) []byte {
	n := len(bits)
	for n > 0 && bits[n-1] == 0 {
		n--
	}
	for x := 0; x < n; {
		v := bits[x]
		run := 1
		for x+run < n && bits[x+run] == v {
			run++
		}
		ch := byte(63 + v)
		if run > 3 {
			b = append(b, '!')
			b = strconv.AppendInt(b, int64(run), 10)
			b = append(b, ch)
		} else {
			for j := 0; j < run; j++ {
				b = append(b, ch)
			}
		}
		x += run
	}
	return b
}
