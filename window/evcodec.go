package window

import (
	"encoding/binary"
	"math"

	"github.com/rulestream/rulestream/stream"
)

// evCodec packs the events an operator keeps for long (an absence's pending
// starts) into bytes held outside the garbage collector's view: schemas and
// sources are numbered once, values are varints and inline strings. The
// event's time is not part of it (the caller keeps it). Decoding takes its
// strings as substrings of the source string, so a batch of events decodes
// from one allocation.
type evCodec struct {
	schemas  []*stream.Schema
	schemaID map[*stream.Schema]uint64
	sources  []string
	sourceID map[string]uint64
}

func newEvCodec() evCodec {
	return evCodec{schemaID: map[*stream.Schema]uint64{}, sourceID: map[string]uint64{}}
}

func (c *evCodec) schemaRef(s *stream.Schema) uint64 {
	if s == nil {
		return 0
	}
	id, ok := c.schemaID[s]
	if !ok {
		c.schemas = append(c.schemas, s)
		id = uint64(len(c.schemas))
		c.schemaID[s] = id
	}
	return id
}

func (c *evCodec) sourceRef(s string) uint64 {
	id, ok := c.sourceID[s]
	if !ok {
		c.sources = append(c.sources, s)
		id = uint64(len(c.sources) - 1)
		c.sourceID[s] = id
	}
	return id
}

func appendPacked(b []byte, v stream.Value) []byte {
	b = append(b, byte(v.Kind()))
	switch v.Kind() {
	case stream.KindString:
		b = binary.AppendUvarint(b, uint64(len(v.Str())))
		b = append(b, v.Str()...)
	case stream.KindFloat:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float()))
	case stream.KindNull:
	default:
		b = binary.AppendVarint(b, v.Int())
	}
	return b
}

func (c *evCodec) appendValues(b []byte, vs []stream.Value) []byte {
	b = binary.AppendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = appendPacked(b, v)
	}
	return b
}

// encode appends ev (all but its time, Window, Target and ID) to b.
func (c *evCodec) encode(b []byte, ev *stream.Event) []byte {
	b = binary.AppendUvarint(b, c.schemaRef(ev.Schema))
	b = binary.AppendUvarint(b, uint64(len(ev.Key)))
	b = append(b, ev.Key...)
	b = binary.AppendUvarint(b, c.sourceRef(ev.Pos.Source))
	b = binary.AppendVarint(b, int64(ev.Pos.Partition))
	b = binary.AppendVarint(b, ev.Pos.Offset)
	if ev.Pos.Line {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = c.appendValues(b, ev.Fields)
	b = binary.AppendUvarint(b, uint64(len(ev.Joins)))
	for _, j := range ev.Joins {
		b = binary.AppendUvarint(b, uint64(len(j.Name)))
		b = append(b, j.Name...)
		if j.Rec == nil {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = binary.AppendUvarint(b, c.schemaRef(j.Rec.Schema))
		b = c.appendValues(b, j.Rec.Values)
	}
	return b
}

// strDec reads what evCodec wrote, from a string; strings it returns are
// substrings of it. The bytes are the operator's own: reads out of range
// yield zero values rather than a panic.
type strDec struct {
	s   string
	off int
}

func (d *strDec) u8() byte {
	if d.off >= len(d.s) {
		return 0
	}
	d.off++
	return d.s[d.off-1]
}

func (d *strDec) uv() uint64 {
	var v uint64
	for shift := uint(0); shift < 64 && d.off < len(d.s); shift += 7 {
		c := d.s[d.off]
		d.off++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v
		}
	}
	return v
}

func (d *strDec) iv() int64 {
	u := d.uv()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *strDec) str() string {
	n := d.uv()
	if n > uint64(len(d.s)-d.off) {
		d.off = len(d.s)
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *strDec) value() stream.Value {
	switch k := stream.Kind(d.u8()); k {
	case stream.KindString:
		return stream.String(d.str())
	case stream.KindFloat:
		if len(d.s)-d.off < 8 {
			d.off = len(d.s)
			return stream.Value{}
		}
		var b [8]byte
		copy(b[:], d.s[d.off:])
		d.off += 8
		return stream.Float(math.Float64frombits(binary.LittleEndian.Uint64(b[:])))
	case stream.KindInt:
		return stream.Int(d.iv())
	case stream.KindTime:
		return stream.TimeNanos(d.iv())
	case stream.KindBool:
		return stream.Bool(d.iv() != 0)
	}
	return stream.Value{}
}

// values appends the values read to dst and returns them (a full slice
// expression: appending to them cannot overwrite a neighbour).
func (d *strDec) values(dst []stream.Value) ([]stream.Value, []stream.Value) {
	n := int(min(d.uv(), uint64(len(d.s)-d.off)))
	start := len(dst)
	for range n {
		dst = append(dst, d.value())
	}
	return dst, dst[start:len(dst):len(dst)]
}

// fieldCount returns the number of field values of the encoded event s.
func (c *evCodec) fieldCount(s string) int {
	d := strDec{s: s}
	d.uv()
	d.str()
	d.uv()
	d.iv()
	d.iv()
	d.u8()
	return int(d.uv())
}

// decode reads an event from s into ev (its Time untouched), appending its
// field values to vals, which it returns.
func (c *evCodec) decode(s string, ev *stream.Event, vals []stream.Value) []stream.Value {
	d := strDec{s: s}
	ev.Schema = c.schema(d.uv())
	ev.Key = d.str()
	if src := d.uv(); src < uint64(len(c.sources)) {
		ev.Pos.Source = c.sources[src]
	}
	ev.Pos.Partition = int32(d.iv())
	ev.Pos.Offset = d.iv()
	ev.Pos.Line = d.u8() == 1
	vals, ev.Fields = d.values(vals)
	if len(ev.Fields) == 0 {
		ev.Fields = nil
	}
	ev.Joins = nil
	if n := d.uv(); n > 0 {
		ev.Joins = make([]stream.Join, 0, min(n, uint64(len(s))))
		for i := uint64(0); i < n && d.off < len(d.s); i++ {
			j := stream.Join{Name: d.str()}
			if d.u8() == 1 {
				j.Rec = &stream.Record{Schema: c.schema(d.uv())}
				_, j.Rec.Values = d.values(nil)
				if len(j.Rec.Values) == 0 {
					j.Rec.Values = nil
				}
			}
			ev.Joins = append(ev.Joins, j)
		}
	}
	return vals
}

func (c *evCodec) schema(id uint64) *stream.Schema {
	if id == 0 || id > uint64(len(c.schemas)) {
		return nil
	}
	return c.schemas[id-1]
}
