package segment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// This file reads the few tables of a TFLite model (a FlatBuffer, schema
// tensorflow/lite/schema/schema.fbs) that running the selfie model needs:
// Model.operator_codes, subgraphs[0] (tensors, inputs, outputs,
// operators) and buffers. It is a hand-written reader of that layout
// (a table is an offset to a vtable of field offsets; vectors and strings
// are length-prefixed), so the package needs no generated code.

// fbTable is one FlatBuffer table: its position in buf and its vtable's.
type fbTable struct {
	buf    []byte
	pos    int
	vtab   int
	vtsize int
}

var errCorrupt = errors.New("tflite: corrupt model")

func (b fbTable) u32(at int) (uint32, error) {
	if at < 0 || at+4 > len(b.buf) {
		return 0, errCorrupt
	}
	return binary.LittleEndian.Uint32(b.buf[at:]), nil
}

func newTable(buf []byte, pos int) (fbTable, error) {
	if pos < 0 || pos+4 > len(buf) {
		return fbTable{}, errCorrupt
	}
	soff := int32(binary.LittleEndian.Uint32(buf[pos:]))
	vt := pos - int(soff)
	if vt < 0 || vt+4 > len(buf) {
		return fbTable{}, errCorrupt
	}
	vs := int(binary.LittleEndian.Uint16(buf[vt:]))
	if vt+vs > len(buf) {
		return fbTable{}, errCorrupt
	}
	return fbTable{buf: buf, pos: pos, vtab: vt, vtsize: vs}, nil
}

// field returns the absolute position of field i, 0 if absent.
func (b fbTable) field(i int) int {
	o := 4 + 2*i
	if o+2 > b.vtsize {
		return 0
	}
	off := int(binary.LittleEndian.Uint16(b.buf[b.vtab+o:]))
	if off == 0 {
		return 0
	}
	return b.pos + off
}

func (b fbTable) int32Field(i int, def int32) int32 {
	p := b.field(i)
	if p == 0 || p+4 > len(b.buf) {
		return def
	}
	return int32(binary.LittleEndian.Uint32(b.buf[p:]))
}

func (b fbTable) byteField(i int, def byte) byte {
	p := b.field(i)
	if p == 0 || p >= len(b.buf) {
		return def
	}
	return b.buf[p]
}

func (b fbTable) boolField(i int) bool { return b.byteField(i, 0) != 0 }

// indirect follows the uoffset at field i (a table, vector or string).
func (b fbTable) indirect(i int) (int, bool) {
	p := b.field(i)
	if p == 0 {
		return 0, false
	}
	off, err := b.u32(p)
	if err != nil {
		return 0, false
	}
	return p + int(off), true
}

func (b fbTable) table(i int) (fbTable, bool) {
	p, ok := b.indirect(i)
	if !ok {
		return fbTable{}, false
	}
	t, err := newTable(b.buf, p)
	return t, err == nil
}

// vector returns the position of field i's first element and its length.
func (b fbTable) vector(i int) (start, n int, ok bool) {
	p, ok := b.indirect(i)
	if !ok {
		return 0, 0, false
	}
	l, err := b.u32(p)
	if err != nil || p+4+int(l) > len(b.buf) {
		return 0, 0, false
	}
	return p + 4, int(l), true
}

func (b fbTable) bytesField(i int) []byte {
	s, n, ok := b.vector(i)
	if !ok {
		return nil
	}
	return b.buf[s : s+n]
}

func (b fbTable) stringField(i int) string { return string(b.bytesField(i)) }

func (b fbTable) int32s(i int) ([]int, error) {
	s, n, ok := b.vector(i)
	if !ok {
		return nil, nil
	}
	if s+4*n > len(b.buf) {
		return nil, errCorrupt
	}
	out := make([]int, n)
	for k := range out {
		out[k] = int(int32(binary.LittleEndian.Uint32(b.buf[s+4*k:])))
	}
	return out, nil
}

func (b fbTable) tables(i int) ([]fbTable, error) {
	s, n, ok := b.vector(i)
	if !ok {
		return nil, nil
	}
	if s+4*n > len(b.buf) {
		return nil, errCorrupt
	}
	out := make([]fbTable, n)
	for k := range out {
		p := s + 4*k
		off := int(binary.LittleEndian.Uint32(b.buf[p:]))
		t, err := newTable(b.buf, p+off)
		if err != nil {
			return nil, err
		}
		out[k] = t
	}
	return out, nil
}

// TFLite enums used here (schema.fbs).
const (
	tensorFloat32 = 0
	tensorFloat16 = 1
	tensorInt32   = 2

	opAdd            = 0
	opAveragePool2D  = 1
	opConv2D         = 3
	opDepthwiseConv  = 4
	opDequantize     = 6
	opLogistic       = 14
	opMul            = 18
	opRelu           = 19
	opReshape        = 22
	opResizeBilinear = 23
	opCustom         = 32
	opMean           = 40
	opHardSwish      = 117

	actNone  = 0
	actRelu  = 1
	actRelu6 = 3

	padSame  = 0
	padValid = 1
)

var builtinNames = map[int]string{
	opAdd: "ADD", opMean: "MEAN", opAveragePool2D: "AVERAGE_POOL_2D", opConv2D: "CONV_2D",
	opDepthwiseConv: "DEPTHWISE_CONV_2D", opDequantize: "DEQUANTIZE",
	opLogistic: "LOGISTIC", opMul: "MUL", opRelu: "RELU", opReshape: "RESHAPE",
	opResizeBilinear: "RESIZE_BILINEAR", opCustom: "CUSTOM", opHardSwish: "HARD_SWISH",
}

// tensor is one model tensor: its shape and, for a constant, its data
// (float16 weights are widened to float32 at load).
type tensor struct {
	name  string
	shape []int
	typ   byte
	data  []float32 // constant data, nil for an activation
	ints  []int     // constant INT32 data (shapes, axes)
	raw   []byte    // the buffer's bytes (float16 before DEQUANTIZE)
}

func (t *tensor) size() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// operator is one node of the graph, with its options decoded.
type operator struct {
	code    int    // builtin code
	custom  string // custom code for CUSTOM
	inputs  []int
	outputs []int
	// options (those the ops here use)
	padding       byte
	strideW       int
	strideH       int
	filterW       int
	filterH       int
	depthMult     int
	dilationW     int
	dilationH     int
	act           byte
	alignCorners  bool
	halfPixel     bool
	customOptions []byte
}

// Name is the operator's name as TFLite lists it.
func (o *operator) Name() string {
	if o.code == opCustom {
		return o.custom
	}
	if n, ok := builtinNames[o.code]; ok {
		return n
	}
	return fmt.Sprintf("BUILTIN_%d", o.code)
}

// graph is the first subgraph of a model.
type graph struct {
	tensors []*tensor
	inputs  []int
	outputs []int
	ops     []*operator
}

// parseModel reads the model's first subgraph.
func parseModel(buf []byte) (*graph, error) {
	if len(buf) < 8 || string(buf[4:8]) != "TFL3" {
		return nil, errors.New("tflite: not a TFLite model (no TFL3 identifier)")
	}
	root, err := newTable(buf, int(binary.LittleEndian.Uint32(buf)))
	if err != nil {
		return nil, err
	}
	codes, err := root.tables(1)
	if err != nil {
		return nil, err
	}
	subs, err := root.tables(2)
	if err != nil || len(subs) == 0 {
		return nil, errors.New("tflite: no subgraph")
	}
	bufs, err := root.tables(4)
	if err != nil {
		return nil, err
	}
	return parseSubgraph(subs[0], codes, bufs)
}

// parseSubgraph reads a subgraph's tensors, inputs, outputs and operators.
func parseSubgraph(sg fbTable, codes, bufs []fbTable) (*graph, error) {
	g := &graph{}
	tts, err := sg.tables(0)
	if err != nil {
		return nil, err
	}
	for _, tt := range tts {
		t, err := parseTensor(tt, bufs)
		if err != nil {
			return nil, err
		}
		g.tensors = append(g.tensors, t)
	}
	if g.inputs, err = sg.int32s(1); err != nil {
		return nil, err
	}
	if g.outputs, err = sg.int32s(2); err != nil {
		return nil, err
	}
	ots, err := sg.tables(3)
	if err != nil {
		return nil, err
	}
	for _, ot := range ots {
		o, err := parseOperator(ot, codes)
		if err != nil {
			return nil, err
		}
		g.ops = append(g.ops, o)
	}
	return g, nil
}

// parseTensor reads one tensor and decodes its constant data, if any.
func parseTensor(tt fbTable, bufs []fbTable) (*tensor, error) {
	shape, err := tt.int32s(0)
	if err != nil {
		return nil, err
	}
	t := &tensor{name: tt.stringField(3), shape: shape, typ: tt.byteField(1, 0)}
	if bi := int(tt.int32Field(2, 0)); bi > 0 && bi < len(bufs) {
		if bufs[bi].field(1) != 0 {
			return nil, errors.New("tflite: buffers outside the flatbuffer are not supported")
		}
		t.raw = bufs[bi].bytesField(0)
	}
	if len(t.raw) == 0 {
		return t, nil
	}
	return t, t.decode()
}

// elemSize is the byte size of an element of each constant tensor type
// supported.
var elemSize = map[byte]int{tensorFloat32: 4, tensorFloat16: 2, tensorInt32: 4}

// decode widens t's raw bytes: float32 and float16 to data, int32 to ints.
func (t *tensor) decode() error {
	es, ok := elemSize[t.typ]
	if !ok {
		return fmt.Errorf("tflite: tensor %s: type %d is not supported", t.name, t.typ)
	}
	if len(t.raw) != es*t.size() {
		return fmt.Errorf("tflite: tensor %s: %d bytes for %v", t.name, len(t.raw), t.shape)
	}
	switch t.typ {
	case tensorFloat32:
		t.data = make([]float32, t.size())
		for i := range t.data {
			t.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.raw[4*i:]))
		}
	case tensorFloat16:
		t.data = make([]float32, t.size())
		for i := range t.data {
			t.data[i] = half(binary.LittleEndian.Uint16(t.raw[2*i:]))
		}
	default: // tensorInt32
		t.ints = make([]int, t.size())
		for i := range t.ints {
			t.ints[i] = int(int32(binary.LittleEndian.Uint32(t.raw[4*i:])))
		}
	}
	return nil
}

// parseOperator reads one operator: its code (from the model's operator
// codes), tensors and options.
func parseOperator(ot fbTable, codes []fbTable) (*operator, error) {
	ci := int(ot.int32Field(0, 0))
	if ci < 0 || ci >= len(codes) {
		return nil, errCorrupt
	}
	oc := codes[ci]
	code := int(oc.int32Field(3, 0))
	if dep := int(oc.byteField(0, 0)); dep > code {
		code = dep // older models carry the code in the deprecated byte
	}
	o := &operator{code: code, custom: oc.stringField(1), strideW: 1, strideH: 1, dilationW: 1, dilationH: 1, depthMult: 1}
	var err error
	if o.inputs, err = ot.int32s(1); err != nil {
		return nil, err
	}
	if o.outputs, err = ot.int32s(2); err != nil {
		return nil, err
	}
	o.customOptions = ot.bytesField(5)
	if opt, ok := ot.table(4); ok {
		if dec := optionDecoders[code]; dec != nil {
			dec(o, opt)
		}
	}
	return o, nil
}

// optionDecoders reads each operator's builtin options table (the fields
// of schema.fbs's Conv2DOptions, DepthwiseConv2DOptions, Pool2DOptions,
// AddOptions, MulOptions, ResizeBilinearOptions).
var optionDecoders = map[int]func(o *operator, opt fbTable){
	opConv2D: func(o *operator, opt fbTable) {
		o.padding = opt.byteField(0, 0)
		o.strideW, o.strideH = int(opt.int32Field(1, 1)), int(opt.int32Field(2, 1))
		o.act = opt.byteField(3, 0)
		o.dilationW, o.dilationH = int(opt.int32Field(4, 1)), int(opt.int32Field(5, 1))
	},
	opDepthwiseConv: func(o *operator, opt fbTable) {
		o.padding = opt.byteField(0, 0)
		o.strideW, o.strideH = int(opt.int32Field(1, 1)), int(opt.int32Field(2, 1))
		o.depthMult = int(opt.int32Field(3, 1))
		o.act = opt.byteField(4, 0)
		o.dilationW, o.dilationH = int(opt.int32Field(5, 1)), int(opt.int32Field(6, 1))
	},
	opAveragePool2D: func(o *operator, opt fbTable) {
		o.padding = opt.byteField(0, 0)
		o.strideW, o.strideH = int(opt.int32Field(1, 1)), int(opt.int32Field(2, 1))
		o.filterW, o.filterH = int(opt.int32Field(3, 1)), int(opt.int32Field(4, 1))
		o.act = opt.byteField(5, 0)
	},
	opAdd: activationOption,
	opMul: activationOption,
	opResizeBilinear: func(o *operator, opt fbTable) {
		o.alignCorners = opt.boolField(2)
		o.halfPixel = opt.boolField(3)
	},
}

// activationOption reads ADD's and MUL's one option, the fused activation.
func activationOption(o *operator, opt fbTable) { o.act = opt.byteField(0, 0) }

// half widens an IEEE 754 binary16 value.
func half(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		for frac&0x400 == 0 {
			frac <<= 1
			exp--
		}
		exp++
		frac &= 0x3ff
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
}
