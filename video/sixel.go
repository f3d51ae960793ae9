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
	if cap(s.idx) < w*h {
		s.idx = make([]uint8, w*h)
	}
	s.idx = s.idx[:w*h]
	if cap(s.rows) < 216*w {
		s.rows = make([]byte, 216*w)
	}
	s.rows = s.rows[:216*w]
	var used [216]bool
	for y := 0; y < h; y++ {
		row := pic.Pix[pic.PixOffset(0, y):]
		for x := 0; x < w; x++ {
			c := 36*sixelLevel(row[x*4]) + 6*sixelLevel(row[x*4+1]) + sixelLevel(row[x*4+2])
			s.idx[y*w+x] = c
			used[c] = true
		}
	}
	b := r.buf
	b = append(b, "\x1b7\x1bP0;1;0q\"1;1;"...)
	b = strconv.AppendInt(b, int64(w), 10)
	b = append(b, ';')
	b = strconv.AppendInt(b, int64(h), 10)
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
	for band := 0; band < h; band += 6 {
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
		if band > 0 {
			b = append(b, '-')
		}
		for i, c := range list {
			if i > 0 {
				b = append(b, '$')
			}
			b = append(b, '#')
			b = strconv.AppendInt(b, int64(c), 10)
			bits := s.rows[c*w : (c+1)*w]
			// drop trailing empty columns
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
		}
	}
	b = append(b, "\x1b\\\x1b8"...)
	r.buf = b
}
