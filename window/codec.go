package window

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/rulestream/rulestream/stream"
)

// Snapshot format: the magic "RSW", a byte naming the operator, a version
// byte, then the operator's fields as varints and length-prefixed strings.
const (
	snapVersion   = 1
	snapCountWith = 'C'
	snapTime      = 'T'
	snapSession   = 'S'
	snapOrder     = 'O'
	snapDedup     = 'D'
	snapNewValue  = 'N'
	snapSequence  = 'Q'
	snapAbsence   = 'A'
	snapDistinct  = 'U'
)

// ErrCorrupt is wrapped by every Restore error caused by malformed bytes.
var ErrCorrupt = errors.New("window: corrupt snapshot")

type encoder struct{ b []byte }

func newEncoder(kind byte) *encoder {
	return &encoder{b: append(make([]byte, 0, 256), 'R', 'S', 'W', kind, snapVersion)}
}

func (e *encoder) u8(v uint8)    { e.b = append(e.b, v) }
func (e *encoder) uv(v uint64)   { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) iv(v int64)    { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string)  { e.uv(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) f64(f float64) { e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(f)) }

func (e *encoder) boolean(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

func (e *encoder) value(v stream.Value) {
	e.u8(uint8(v.Kind()))
	switch v.Kind() {
	case stream.KindString:
		e.str(v.Str())
	case stream.KindFloat:
		e.f64(v.Float())
	case stream.KindInt, stream.KindTime, stream.KindBool:
		e.iv(v.Int())
	}
}

// decoder reads a snapshot; the first error sticks and later reads return
// zero values, so callers check err once at the end of a section.
type decoder struct {
	b   []byte
	off int
	err error
}

func newDecoder(data []byte, kind byte) (*decoder, error) {
	if len(data) < 5 || data[0] != 'R' || data[1] != 'S' || data[2] != 'W' {
		return nil, fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	if data[3] != kind {
		return nil, fmt.Errorf("%w: snapshot of operator %q, want %q", ErrCorrupt, data[3], kind)
	}
	if data[4] != snapVersion {
		return nil, fmt.Errorf("%w: unsupported version %d (want %d)", ErrCorrupt, data[4], snapVersion)
	}
	return &decoder{b: data, off: 5}, nil
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", ErrCorrupt, what, d.off)
	}
}

func (d *decoder) u8() uint8 {
	if d.err != nil || d.off >= len(d.b) {
		d.fail("truncated")
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) uv() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) iv() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.off += n
	return v
}

// count reads a length that must not exceed the bytes left (each element
// takes at least one byte), so corrupt input cannot make huge allocations.
func (d *decoder) count() int {
	n := d.uv()
	if d.err == nil && n > uint64(len(d.b)-d.off) {
		d.fail("length out of range")
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := string(d.b[d.off : d.off+n])
	d.off += n
	return s
}

func (d *decoder) f64() float64 {
	if d.err != nil || len(d.b)-d.off < 8 {
		d.fail("truncated")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.b[d.off:]))
	d.off += 8
	return v
}

func (d *decoder) boolean() bool {
	switch d.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bad bool")
	return false
}

func (d *decoder) value() stream.Value {
	switch k := stream.Kind(d.u8()); k {
	case stream.KindNull:
		return stream.Value{}
	case stream.KindString:
		return stream.String(d.str())
	case stream.KindFloat:
		return stream.Float(d.f64())
	case stream.KindInt:
		return stream.Int(d.iv())
	case stream.KindTime:
		return stream.TimeNanos(d.iv())
	case stream.KindBool:
		return stream.Bool(d.iv() != 0)
	default:
		d.fail(fmt.Sprintf("bad value kind %d", k))
		return stream.Value{}
	}
}

// finish reports an error or trailing bytes.
func (d *decoder) finish() error {
	if d.err == nil && d.off != len(d.b) {
		d.fail("trailing bytes")
	}
	return d.err
}
