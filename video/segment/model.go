package segment

import (
	"errors"
	"fmt"
	"math"
)

// net is a loaded model ready to run: every activation buffer is
// allocated once, constants are widened and laid out for the kernels, and
// run does no allocation.
type net struct {
	g     *graph
	bufs  [][]float32 // per tensor: its data (constants) or activation buffer
	steps []step
	konst []bool    // per tensor: its buffer is constant data
	in    []float32 // the input tensor's buffer, NHWC
	out   []float32 // the output tensor's buffer
	inH   int
	inW   int
	outH  int
	outW  int
	ops   []string // the operators the model uses, in order of first use
}

// step is one operator compiled to a kernel call.
type step struct {
	name string
	run  func()
}

// shape4 returns an NHWC shape as h, w, c (a rank < 4 shape is padded
// with leading 1s).
func shape4(s []int) (h, w, c int) {
	p := [4]int{1, 1, 1, 1}
	copy(p[4-len(s):], s)
	return p[1], p[2], p[3]
}

// newNet compiles g.
func newNet(g *graph) (*net, error) {
	if len(g.inputs) != 1 || len(g.outputs) != 1 {
		return nil, errors.New("tflite: want one input and one output")
	}
	n := &net{g: g, bufs: make([][]float32, len(g.tensors)), konst: make([]bool, len(g.tensors))}
	for i, t := range g.tensors {
		if t.data != nil {
			n.bufs[i], n.konst[i] = t.data, true
		}
	}
	in, out := g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
	if err := n.setShapes(in, out); err != nil {
		return nil, err
	}
	n.bufs[g.inputs[0]] = make([]float32, in.size())
	if err := n.compileAll(); err != nil {
		return nil, err
	}
	n.in, n.out = n.bufs[g.inputs[0]], n.bufs[g.outputs[0]]
	return n, nil
}

// setShapes checks the input (NHWC, 3 channels) and the output (one
// channel) and keeps their sizes.
func (n *net) setShapes(in, out *tensor) error {
	var c int
	n.inH, n.inW, c = shape4(in.shape)
	if c != 3 {
		return fmt.Errorf("tflite: input %v, want NHWC with 3 channels", in.shape)
	}
	n.outH, n.outW, c = shape4(out.shape)
	if c != 1 {
		return fmt.Errorf("tflite: output %v, want one channel", out.shape)
	}
	return nil
}

// compileAll compiles the operators in order. Activation buffers are
// shared between tensors whose lives do not overlap: a tensor gets a free
// buffer (or a new one) when its operator is compiled and gives it back
// after its last reader.
func (n *net) compileAll() error {
	g := n.g
	last := lastReaders(g)
	var pool bufPool
	seen := map[string]bool{}
	for k, o := range g.ops {
		if !seen[o.Name()] {
			seen[o.Name()] = true
			n.ops = append(n.ops, o.Name())
		}
		if err := n.allocOutputs(o, &pool); err != nil {
			return err
		}
		if err := n.compile(o); err != nil {
			return fmt.Errorf("tflite: %s: %w", o.Name(), err)
		}
		for _, i := range o.inputs {
			if i >= 0 && last[i] == k && n.reusable(i) {
				pool.give(n.bufs[i])
			}
		}
	}
	return nil
}

// lastReaders returns, per tensor, the index of the last operator reading it.
func lastReaders(g *graph) []int {
	last := make([]int, len(g.tensors))
	for k, o := range g.ops {
		for _, i := range o.inputs {
			if i >= 0 {
				last[i] = k
			}
		}
	}
	return last
}

// reusable reports whether tensor i's buffer may go back to the pool after
// its last reader: an activation that is not the model's input or output.
func (n *net) reusable(i int) bool {
	keep := i == n.g.inputs[0] || i == n.g.outputs[0]
	return !n.konst[i] && !keep && n.bufs[i] != nil
}

// allocOutputs gives o's float32 outputs a buffer from the pool
// (DEQUANTIZE's output aliases its constant input instead).
func (n *net) allocOutputs(o *operator, pool *bufPool) error {
	if o.code == opDequantize {
		return nil
	}
	for _, y := range o.outputs {
		t := n.g.tensors[y]
		if t.typ != tensorFloat32 {
			return fmt.Errorf("tflite: activation %s is type %d, not float32", t.name, t.typ)
		}
		n.bufs[y] = pool.take(t.size())
	}
	return nil
}

// bufPool holds the activation buffers free for reuse.
type bufPool struct{ free [][]float32 }

// take returns the smallest free buffer that holds size values (resliced
// to size), or a new one.
func (p *bufPool) take(size int) []float32 {
	best := -1
	for j, b := range p.free {
		if cap(b) >= size && (best < 0 || cap(b) < cap(p.free[best])) {
			best = j
		}
	}
	if best < 0 {
		return make([]float32, size)
	}
	b := p.free[best][:size]
	p.free = append(p.free[:best], p.free[best+1:]...)
	return b
}

func (p *bufPool) give(b []float32) { p.free = append(p.free, b) }

// konstant returns constant tensor i's data (nil if it is not constant).
func (n *net) konstant(i int) []float32 {
	if i < 0 || !n.konst[i] {
		return nil
	}
	return n.bufs[i]
}

func (n *net) t(i int) *tensor { return n.g.tensors[i] }

// operands are an operator's first input and its output, as tensors and
// as buffers.
type operands struct {
	xt, yt *tensor
	xb, yb []float32
}

// opCompiler appends the kernel of one operator type to the plan.
type opCompiler func(n *net, o *operator, a operands) error

// compilers holds the compiler of each operator the selfie models use.
var compilers = map[int]opCompiler{
	opDequantize:     (*net).compileDequantize,
	opConv2D:         (*net).compileConv2D,
	opDepthwiseConv:  (*net).compileDepthwise,
	opHardSwish:      unary(hardSwish),
	opRelu:           unary(relu),
	opLogistic:       unary(logistic),
	opReshape:        unary(reshape),
	opAdd:            (*net).compileElementwise,
	opMul:            (*net).compileElementwise,
	opMean:           (*net).compileMean,
	opResizeBilinear: (*net).compileResize,
	opAveragePool2D: func(*net, *operator, operands) error {
		return errors.New("not used by the selfie models; not implemented")
	},
	opCustom: (*net).compileCustom,
}

// compile appends o's kernel to the plan.
func (n *net) compile(o *operator) error {
	if len(o.inputs) == 0 || len(o.outputs) != 1 {
		return errors.New("bad arity")
	}
	c, ok := compilers[o.code]
	if !ok {
		return fmt.Errorf("operator %d is not implemented", o.code)
	}
	x, y := o.inputs[0], o.outputs[0]
	return c(n, o, operands{xt: n.t(x), yt: n.t(y), xb: n.bufs[x], yb: n.bufs[y]})
}

// add appends kernel f, named after o, to the plan.
func (n *net) add(o *operator, f func()) { n.steps = append(n.steps, step{name: o.Name(), run: f}) }

// compileDequantize: constant float16 weights are widened at load; the
// output aliases them.
func (n *net) compileDequantize(o *operator, _ operands) error {
	x, y := o.inputs[0], o.outputs[0]
	if !n.konst[x] {
		return errors.New("dequantize of an activation")
	}
	n.bufs[y], n.konst[y] = n.bufs[x], true
	return nil
}

// newConv checks a CONV_2D or DEPTHWISE_CONV_2D's weights, bias and
// options and returns its kernel without weights, with the weights'
// shape and constant data.
func (n *net) newConv(o *operator, a operands) (c *conv, wshape []int, wd []float32, err error) {
	if len(o.inputs) < 3 || o.inputs[2] < 0 {
		return nil, nil, nil, errors.New("conv without bias")
	}
	wt := n.t(o.inputs[1])
	wd, bd := n.konstant(o.inputs[1]), n.konstant(o.inputs[2])
	if wd == nil || bd == nil {
		return nil, nil, nil, errors.New("conv weights are not constant")
	}
	if o.dilationW != 1 || o.dilationH != 1 {
		return nil, nil, nil, errors.New("dilation is not supported")
	}
	ih, iw, ic := shape4(a.xt.shape)
	oh, ow, oc := shape4(a.yt.shape)
	kh, kw := wt.shape[1], wt.shape[2]
	pt, pl := padBefore(o.padding, ih, oh, kh, o.strideH), padBefore(o.padding, iw, ow, kw, o.strideW)
	c = &conv{ih: ih, iw: iw, ic: ic, oh: oh, ow: ow, oc: oc, kh: kh, kw: kw,
		sh: o.strideH, sw: o.strideW, pt: pt, pl: pl, bias: bd, act: o.act}
	return c, wt.shape, wd, nil
}

func (n *net) compileConv2D(o *operator, a operands) error {
	c, ws, wd, err := n.newConv(o, a)
	if err != nil {
		return err
	}
	if ws[0] != c.oc || ws[3] != c.ic {
		return fmt.Errorf("weights %v for %d->%d channels", ws, c.ic, c.oc)
	}
	c.w = transposeWeights(wd, c.oc, c.kh*c.kw, c.ic)
	c.acc = make([]float32, c.oc)
	xb, yb := a.xb, a.yb
	if c.kh == 1 && c.kw == 1 && c.sh == 1 && c.sw == 1 && c.ih == c.oh && c.iw == c.ow {
		n.add(o, func() { c.pointwise(xb, yb) })
	} else {
		n.add(o, func() { c.conv2D(xb, yb) })
	}
	return nil
}

// transposeWeights lays out [oc][k][ic] weights as [k][ic][oc]: the
// kernels' inner loop runs over output channels.
func transposeWeights(wd []float32, oc, k, ic int) []float32 {
	w := make([]float32, len(wd))
	for o := 0; o < oc; o++ {
		for j := 0; j < k; j++ {
			for i := 0; i < ic; i++ {
				w[(j*ic+i)*oc+o] = wd[(o*k+j)*ic+i]
			}
		}
	}
	return w
}

func (n *net) compileDepthwise(o *operator, a operands) error {
	c, ws, wd, err := n.newConv(o, a)
	if err != nil {
		return err
	}
	if o.depthMult != 1 || c.ic != c.oc || ws[3] != c.oc {
		return errors.New("depth multiplier other than 1")
	}
	c.w = wd // [1][kh][kw][c]
	xb, yb := a.xb, a.yb
	n.add(o, func() { c.depthwise(xb, yb) })
	return nil
}

// unary compiles an operator whose kernel maps its input buffer to its
// output buffer.
func unary(k func(x, y []float32)) opCompiler {
	return func(n *net, o *operator, a operands) error {
		xb, yb := a.xb, a.yb
		n.add(o, func() { k(xb, yb) })
		return nil
	}
}

func hardSwish(x, y []float32) {
	for i, v := range x[:len(y)] {
		y[i] = v * min(max(v+3, 0), 6) * (1.0 / 6)
	}
}

func relu(x, y []float32) {
	for i, v := range x[:len(y)] {
		y[i] = max(v, 0)
	}
}

func logistic(x, y []float32) {
	for i, v := range x[:len(y)] {
		y[i] = sigmoid(v)
	}
}

// reshape keeps the element order: a copy (buffers are shared by
// lifetime, so the output does not alias its input).
func reshape(x, y []float32) { copy(y, x) }

// compileElementwise compiles ADD and MUL, of two same-size tensors or of
// a [1,1,1,C] tensor broadcast over the pixels (the squeeze-excite scale).
func (n *net) compileElementwise(o *operator, a operands) error {
	if len(o.inputs) != 2 {
		return errors.New("want two inputs")
	}
	b := o.inputs[1]
	bb, bt := n.bufs[b], n.t(b)
	mul := o.code == opMul
	act := o.act
	xb, yb := a.xb, a.yb
	switch {
	case bt.size() == a.xt.size():
		n.add(o, func() { elementwise(xb, bb, yb, mul, act) })
	case bt.size() == a.yt.shape[len(a.yt.shape)-1]:
		n.add(o, func() {
			c := len(bb)
			for p := 0; p < len(yb); p += c {
				elementwise(xb[p:p+c], bb, yb[p:p+c], mul, act)
			}
		})
	default:
		return fmt.Errorf("broadcast of %v over %v", bt.shape, a.xt.shape)
	}
	return nil
}

// compileMean compiles MEAN over the pixels (axes 1 and 2).
func (n *net) compileMean(o *operator, a operands) error {
	if len(o.inputs) != 2 {
		return errors.New("want axes")
	}
	axes := n.t(o.inputs[1]).ints
	if len(axes) != 2 || axes[0] != 1 || axes[1] != 2 {
		return fmt.Errorf("mean over axes %v (want 1, 2)", axes)
	}
	ih, iw, ic := shape4(a.xt.shape)
	xb, yb := a.xb, a.yb
	n.add(o, func() { meanPixels(xb, yb[:ic], ih*iw) })
	return nil
}

// meanPixels: y[c] = the mean over px pixels of x[p][c].
func meanPixels(x, y []float32, px int) {
	ic := len(y)
	clear(y)
	for p := 0; p < px; p++ {
		row := x[p*ic : p*ic+ic]
		for c, v := range row {
			y[c] += v
		}
	}
	s := 1 / float32(px)
	for c := range y {
		y[c] *= s
	}
}

func (n *net) compileResize(o *operator, a operands) error {
	ih, iw, ic := shape4(a.xt.shape)
	oh, ow, _ := shape4(a.yt.shape)
	r := newResize(ih, iw, oh, ow, ic, o.alignCorners, o.halfPixel)
	xb, yb := a.xb, a.yb
	n.add(o, func() { r.run(xb, yb) })
	return nil
}

func (n *net) compileCustom(o *operator, _ operands) error {
	if o.custom != "Convolution2DTransposeBias" {
		return fmt.Errorf("custom operator %q is not implemented", o.custom)
	}
	return n.compileTransposeConv(o)
}

// transposeConv is a compiled Convolution2DTransposeBias whose kernel
// equals its stride (the blocks do not overlap).
type transposeConv struct {
	ih, iw, ic     int
	kh, kw, sh, sw int
	ow, oc         int
	w, bias        []float32 // w: [oc][kh][kw][ic]
}

// compileTransposeConv compiles MediaPipe's Convolution2DTransposeBias:
// inputs (x, weights [oc][kh][kw][ic], bias [oc]); its custom options are
// TfLiteTransposeConvParams {padding, stride_w, stride_h} as int32s
// (padding 1 = SAME, 2 = VALID in TfLitePadding).
func (n *net) compileTransposeConv(o *operator) error {
	if len(o.inputs) != 3 || len(o.customOptions) < 12 {
		return errors.New("want 3 inputs and 12 bytes of options")
	}
	le := func(b []byte) int {
		return int(int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24))
	}
	t := &transposeConv{sw: le(o.customOptions[4:]), sh: le(o.customOptions[8:])}
	xt, yt := n.t(o.inputs[0]), n.t(o.outputs[0])
	wt := n.t(o.inputs[1])
	t.ih, t.iw, t.ic = shape4(xt.shape)
	oh, ow, oc := shape4(yt.shape)
	t.ow, t.oc = ow, oc
	t.kh, t.kw = wt.shape[1], wt.shape[2]
	if !t.blocks(oh, wt.shape) {
		return fmt.Errorf("only kernel == stride, no overlap (kernel %dx%d stride %dx%d, %v -> %v)", t.kh, t.kw, t.sh, t.sw, xt.shape, yt.shape)
	}
	t.w, t.bias = n.konstant(o.inputs[1]), n.konstant(o.inputs[2])
	if t.w == nil || t.bias == nil {
		return errors.New("weights are not constant")
	}
	xb, yb := n.bufs[o.inputs[0]], n.bufs[o.outputs[0]]
	n.add(o, func() { t.run(xb, yb) })
	return nil
}

// blocks reports whether the kernel equals the stride (the output is the
// input's size times the stride, oh rows) and the weights' shape ws fits
// the channels.
func (t *transposeConv) blocks(oh int, ws []int) bool {
	return t.kh == t.sh && t.kw == t.sw && oh == t.ih*t.sh && t.ow == t.iw*t.sw && ws[0] == t.oc && ws[3] == t.ic
}

// run: each input pixel paints a kh x kw block: out[y*sh+ky][x*sw+kx][o]
// = bias[o] + sum_c in[y][x][c] * w[o][ky][kx][c].
func (t *transposeConv) run(xb, yb []float32) {
	ic := t.ic
	for y := 0; y < t.ih; y++ {
		for x := 0; x < t.iw; x++ {
			px := xb[(y*t.iw+x)*ic : (y*t.iw+x)*ic+ic]
			for ky := 0; ky < t.kh; ky++ {
				for kx := 0; kx < t.kw; kx++ {
					t.paint(px, ky, kx, yb[((y*t.sh+ky)*t.ow+x*t.sw+kx)*t.oc:])
				}
			}
		}
	}
}

// paint writes one output pixel of an input pixel's block: per output
// channel the bias plus the pixel times the tap's weights.
func (t *transposeConv) paint(px []float32, ky, kx int, out []float32) {
	ic := len(px)
	for oo := range out[:t.oc] {
		wr := t.w[((oo*t.kh+ky)*t.kw+kx)*ic : ((oo*t.kh+ky)*t.kw+kx)*ic+ic]
		s := t.bias[oo]
		for c, v := range px {
			s += v * wr[c]
		}
		out[oo] = s
	}
}

// padBefore is TensorFlow's SAME padding before the first row/column.
func padBefore(padding byte, in, out, k, s int) int {
	if padding != padSame {
		return 0
	}
	return max((out-1)*s+k-in, 0) / 2
}

func sigmoid(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }

func activate(v float32, act byte) float32 {
	switch act {
	case actRelu:
		return max(v, 0)
	case actRelu6:
		return min(max(v, 0), 6)
	}
	return v
}

func elementwise(a, b, y []float32, mul bool, act byte) {
	b = b[:len(a)]
	y = y[:len(a)]
	if mul {
		for i, v := range a {
			y[i] = v * b[i]
		}
	} else {
		for i, v := range a {
			y[i] = v + b[i]
		}
	}
	if act != actNone {
		for i, v := range y {
			y[i] = activate(v, act)
		}
	}
}

// conv is a compiled CONV_2D or DEPTHWISE_CONV_2D, NHWC.
type conv struct {
	ih, iw, ic, oh, ow, oc int
	kh, kw, sh, sw, pt, pl int
	w                      []float32 // conv2D: [kh][kw][ic][oc]; depthwise: [kh][kw][c]
	bias                   []float32
	act                    byte
	acc                    []float32
	col                    []float32 // conv2D's im2col rows, allocated at the first run
}

// conv2D gathers each output pixel's window into a row (im2col: kh*kw*ic
// values, zeros outside the picture) and multiplies the rows by the
// weights [kh*kw*ic][oc] (gemm).
func (c *conv) conv2D(x, y []float32) {
	k := c.kh * c.kw * c.ic
	px := c.oh * c.ow
	if len(c.col) < px*k {
		c.col = make([]float32, px*k)
	}
	col := c.col[:px*k]
	ic := c.ic
	for oy := 0; oy < c.oh; oy++ {
		for ox := 0; ox < c.ow; ox++ {
			row := col[(oy*c.ow+ox)*k : (oy*c.ow+ox+1)*k]
			j := 0
			for ky := 0; ky < c.kh; ky++ {
				iy := oy*c.sh + ky - c.pt
				for kx := 0; kx < c.kw; kx++ {
					ix := ox*c.sw + kx - c.pl
					dst := row[j : j+ic]
					if iy < 0 || iy >= c.ih || ix < 0 || ix >= c.iw {
						clear(dst)
					} else {
						copy(dst, x[(iy*c.iw+ix)*ic:(iy*c.iw+ix)*ic+ic])
					}
					j += ic
				}
			}
		}
	}
	gemm(col, px, k, c.w, c.oc, c.bias, y, c.act)
}

// pointwise is a 1x1, stride 1 CONV_2D: a matrix product of the pixels
// [P][ic] and the weights [ic][oc], four pixels at a time so that each
// weight row loaded serves four accumulators. The output rows are the
// accumulators.
func (c *conv) pointwise(x, y []float32) {
	gemm(x, c.ih*c.iw, c.ic, c.w, c.oc, c.bias, y, c.act)
}

// gemm: y[px][oc] = act(x[px][ic] * w[ic][oc] + bias), four rows at a time
// so that each weight row loaded serves four accumulators (the output
// rows themselves).
func gemm(x []float32, px, ic int, wt []float32, oc int, bias, y []float32, act byte) {
	bias = bias[:oc]
	p := 0
	for ; p+4 <= px; p += 4 {
		a0 := y[(p+0)*oc : (p+1)*oc]
		a1 := y[(p+1)*oc : (p+2)*oc]
		a2 := y[(p+2)*oc : (p+3)*oc]
		a3 := y[(p+3)*oc : (p+4)*oc]
		copy(a0, bias)
		copy(a1, bias)
		copy(a2, bias)
		copy(a3, bias)
		x0 := x[(p+0)*ic : (p+1)*ic]
		x1 := x[(p+1)*ic : (p+2)*ic]
		x2 := x[(p+2)*ic : (p+3)*ic]
		x3 := x[(p+3)*ic : (p+4)*ic]
		for i := 0; i < ic; i++ {
			v0, v1, v2, v3 := x0[i], x1[i], x2[i], x3[i]
			wr := wt[i*oc : i*oc+oc]
			a0 := a0[:len(wr)]
			a1 := a1[:len(wr)]
			a2 := a2[:len(wr)]
			a3 := a3[:len(wr)]
			for o, w := range wr {
				a0[o] += w * v0
				a1[o] += w * v1
				a2[o] += w * v2
				a3[o] += w * v3
			}
		}
	}
	for ; p < px; p++ {
		a := y[p*oc : (p+1)*oc]
		copy(a, bias)
		xr := x[p*ic : (p+1)*ic]
		for i, v := range xr {
			axpy(a, wt[i*oc:i*oc+oc], v)
		}
	}
	if act != actNone {
		out := y[:px*oc]
		for o, v := range out {
			out[o] = activate(v, act)
		}
	}
}

// axpy: acc += w * v, unrolled by 4.
func axpy(acc, w []float32, v float32) {
	n := len(acc)
	w = w[:n]
	i := 0
	for ; i+4 <= n; i += 4 {
		a := acc[i : i+4 : i+4]
		b := w[i : i+4 : i+4]
		a[0] += b[0] * v
		a[1] += b[1] * v
		a[2] += b[2] * v
		a[3] += b[3] * v
	}
	for ; i < n; i++ {
		acc[i] += w[i] * v
	}
}

// depthwise: per output pixel, the window's taps times the per-channel
// weights, the inner loop over channels.
func (c *conv) depthwise(x, y []float32) {
	ch := c.oc
	for oy := 0; oy < c.oh; oy++ {
		for ox := 0; ox < c.ow; ox++ {
			out := y[(oy*c.ow+ox)*ch : (oy*c.ow+ox)*ch+ch]
			c.depthwiseTaps(x, out, oy, ox)
			if c.act != actNone {
				for o, v := range out {
					out[o] = activate(v, c.act)
				}
			}
		}
	}
}

// depthwiseTaps sets out, output pixel (oy, ox), to the bias plus its
// window's taps inside the picture times their weights.
func (c *conv) depthwiseTaps(x, out []float32, oy, ox int) {
	ch := len(out)
	copy(out, c.bias[:ch])
	for ky := 0; ky < c.kh; ky++ {
		iy := oy*c.sh + ky - c.pt
		if iy < 0 || iy >= c.ih {
			continue
		}
		for kx := 0; kx < c.kw; kx++ {
			ix := ox*c.sw + kx - c.pl
			if ix < 0 || ix >= c.iw {
				continue
			}
			px := x[(iy*c.iw+ix)*ch : (iy*c.iw+ix)*ch+ch]
			wk := c.w[(ky*c.kw+kx)*ch : (ky*c.kw+kx)*ch+ch]
			for i, v := range px {
				out[i] += v * wk[i]
			}
		}
	}
}

// resize is a compiled RESIZE_BILINEAR: per output row/column the two
// source indices and the weight of the second.
type resize struct {
	oh, ow, c int
	iw        int
	y0, y1    []int
	fy        []float32
	x0, x1    []int
	fx        []float32
}

func newResize(ih, iw, oh, ow, c int, alignCorners, halfPixel bool) *resize {
	r := &resize{oh: oh, ow: ow, c: c, iw: iw}
	r.y0, r.y1, r.fy = resizeAxis(ih, oh, alignCorners, halfPixel)
	r.x0, r.x1, r.fx = resizeAxis(iw, ow, alignCorners, halfPixel)
	return r
}

// resizeAxis follows TensorFlow's ResizeBilinear index mapping.
func resizeAxis(in, out int, alignCorners, halfPixel bool) (lo, hi []int, f []float32) {
	scale := float32(in) / float32(out)
	if alignCorners && out > 1 {
		scale = float32(in-1) / float32(out-1)
	}
	lo, hi, f = make([]int, out), make([]int, out), make([]float32, out)
	for i := range out {
		var src float32
		if halfPixel {
			src = (float32(i)+0.5)*scale - 0.5
		} else {
			src = float32(i) * scale
		}
		if src < 0 {
			src = 0
		}
		l := int(src)
		lo[i], hi[i], f[i] = min(l, in-1), min(l+1, in-1), src-float32(l)
	}
	return lo, hi, f
}

func (r *resize) run(x, y []float32) {
	c := r.c
	for oy := 0; oy < r.oh; oy++ {
		fy := r.fy[oy]
		ra, rb := r.y0[oy]*r.iw, r.y1[oy]*r.iw
		for ox := 0; ox < r.ow; ox++ {
			fx := r.fx[ox]
			a := x[(ra+r.x0[ox])*c : (ra+r.x0[ox])*c+c]
			b := x[(ra+r.x1[ox])*c : (ra+r.x1[ox])*c+c]
			d := x[(rb+r.x0[ox])*c : (rb+r.x0[ox])*c+c]
			e := x[(rb+r.x1[ox])*c : (rb+r.x1[ox])*c+c]
			out := y[(oy*r.ow+ox)*c : (oy*r.ow+ox)*c+c]
			for i := range out {
				top := a[i] + (b[i]-a[i])*fx
				bot := d[i] + (e[i]-d[i])*fx
				out[i] = top + (bot-top)*fy
			}
		}
	}
}

// run runs the model on n.in, leaving the result in n.out.
func (n *net) run() {
	for i := range n.steps {
		n.steps[i].run()
	}
}
