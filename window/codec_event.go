package window

import (
	"encoding/binary"
	"fmt"

	"github.com/rulestream/rulestream/stream"
)

// schemaTable numbers the schemas of one snapshot: each is written once.
// On restore, a schema that matches one of known field for field is that
// one, so restored events share the pipeline's schemas (stream.Env.Schemas).
//
// In an entry of an incremental checkpoint (hashed, byHash), a schema is
// its hash instead, and its fields are an entry of their own.
type schemaTable struct {
	ids    map[*stream.Schema]uint64
	list   []*stream.Schema
	known  []*stream.Schema
	hashed *deltaSchemas
	byHash map[uint64]*stream.Schema
}

func (e *encoder) schema(t *schemaTable, s *stream.Schema) {
	if s == nil {
		e.uv(0)
		return
	}
	if t.hashed != nil {
		e.uv(1)
		e.b = binary.BigEndian.AppendUint64(e.b, t.hashed.ref(s))
		return
	}
	if t.ids == nil {
		t.ids = map[*stream.Schema]uint64{}
	}
	if id, ok := t.ids[s]; ok {
		e.uv(id)
		return
	}
	t.ids[s] = uint64(len(t.ids) + 1)
	e.uv(uint64(len(t.ids)))
	e.str(s.Name())
	e.uv(uint64(s.Len()))
	for i := 0; i < s.Len(); i++ {
		f := s.Field(i)
		e.str(f.Name)
		e.u8(uint8(f.Kind))
	}
}

func (d *decoder) schema(t *schemaTable) *stream.Schema {
	id := d.uv()
	if d.err != nil || id == 0 {
		return nil
	}
	if t.byHash != nil {
		if d.off+8 > len(d.b) {
			d.fail("schema reference truncated")
			return nil
		}
		s, ok := t.byHash[binary.BigEndian.Uint64(d.b[d.off:])]
		d.off += 8
		if !ok {
			d.fail("an unknown schema")
		}
		return s
	}
	if id <= uint64(len(t.list)) {
		return t.list[id-1]
	}
	if id != uint64(len(t.list))+1 {
		d.fail("bad schema reference")
		return nil
	}
	name := d.str()
	n := d.count()
	fields := make([]stream.Field, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		fields = append(fields, stream.Field{Name: d.str(), Kind: stream.Kind(d.u8())})
	}
	if d.err != nil {
		return nil
	}
	s := matchKnown(t.known, name, fields)
	if s == nil {
		var err error
		if s, err = stream.NewSchema(name, fields...); err != nil {
			d.fail(err.Error())
			return nil
		}
	}
	t.list = append(t.list, s)
	return s
}

func matchKnown(known []*stream.Schema, name string, fields []stream.Field) *stream.Schema {
next:
	for _, k := range known {
		if k.Name() != name || k.Len() != len(fields) {
			continue
		}
		for i, f := range fields {
			if k.Field(i) != f {
				continue next
			}
		}
		return k
	}
	return nil
}

func (e *encoder) values(vs []stream.Value) {
	e.uv(uint64(len(vs)))
	for _, v := range vs {
		e.value(v)
	}
}

func (d *decoder) values() []stream.Value {
	n := d.count()
	if n == 0 {
		return nil
	}
	vs := make([]stream.Value, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		vs = append(vs, d.value())
	}
	return vs
}

// event writes an input event held in a buffer. Window results are not
// buffered, so Window, Target and ID are not part of the format.
func (e *encoder) event(t *schemaTable, ev *stream.Event) {
	e.str(ev.Key)
	e.iv(ev.Time)
	e.str(ev.Pos.Source)
	e.iv(int64(ev.Pos.Partition))
	e.iv(ev.Pos.Offset)
	e.boolean(ev.Pos.Line)
	e.schema(t, ev.Schema)
	e.values(ev.Fields)
	e.uv(uint64(len(ev.Joins)))
	for _, j := range ev.Joins {
		e.str(j.Name)
		e.boolean(j.Rec != nil)
		if j.Rec != nil {
			e.schema(t, j.Rec.Schema)
			e.values(j.Rec.Values)
		}
	}
}

func (d *decoder) event(t *schemaTable) stream.Event {
	var ev stream.Event
	ev.Key = d.str()
	ev.Time = d.iv()
	ev.Pos.Source = d.str()
	p := d.iv()
	if p < -1<<31 || p >= 1<<31 {
		d.fail(fmt.Sprintf("partition %d out of range", p))
	}
	ev.Pos.Partition = int32(p)
	ev.Pos.Offset = d.iv()
	ev.Pos.Line = d.boolean()
	ev.Schema = d.schema(t)
	ev.Fields = d.values()
	n := d.count()
	for i := 0; i < n && d.err == nil; i++ {
		j := stream.Join{Name: d.str()}
		if d.boolean() {
			j.Rec = &stream.Record{Schema: d.schema(t), Values: d.values()}
		}
		ev.Joins = append(ev.Joins, j)
	}
	return ev
}
