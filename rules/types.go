package rules

import (
	"fmt"
	"reflect"
	"time"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"

	"github.com/rulestream/rulestream/stream"
)

// typePrefix namespaces the object types the environment declares: the
// event is "rulestream.event", a join named account "rulestream.account",
// the window result "rulestream.window".
const typePrefix = "rulestream."

// RecordType returns the CEL type of the record joined under name (for
// declaring functions over it, such as risk(account)).
func RecordType(name string) *types.Type { return types.NewObjectType(typePrefix + name) }

// provider declares the schemas of the event, the joined records and the
// window result as CEL object types, and adapts their Go values. It wraps
// the standard registry for everything else. It is immutable once built.
type provider struct {
	*types.Registry
	objects map[string]*objectType // by full type name
}

type objectType struct {
	name   string
	typ    *types.Type
	names  []string
	fields map[string]*types.FieldType
}

func celType(k stream.Kind) *types.Type {
	switch k {
	case stream.KindString:
		return types.StringType
	case stream.KindInt:
		return types.IntType
	case stream.KindFloat:
		return types.DoubleType
	case stream.KindBool:
		return types.BoolType
	case stream.KindTime:
		return types.TimestampType
	}
	return types.DynType
}

// valueToCEL converts a stream.Value; null stays null.
func valueToCEL(v stream.Value) ref.Val {
	switch v.Kind() {
	case stream.KindString:
		return types.String(v.Str())
	case stream.KindInt:
		return types.Int(v.Int())
	case stream.KindFloat:
		return types.Double(v.Float())
	case stream.KindBool:
		return types.Bool(v.Bool())
	case stream.KindTime:
		return types.Timestamp{Time: v.Time()}
	}
	return types.NullValue
}

// schemaObject declares a record schema (the event's when event is true):
// one CEL field per schema field, read from *stream.Record (or
// *stream.Event) values; by position when the value has this schema, by
// name otherwise. An unset (null) field reads as null.
func schemaObject(name string, s *stream.Schema, event bool) *objectType {
	o := &objectType{name: typePrefix + name, fields: map[string]*types.FieldType{}}
	o.typ = types.NewObjectType(o.name)
	for i := 0; i < s.Len(); i++ {
		f := s.Field(i)
		o.names = append(o.names, f.Name)
		get := recordField(s, i, f.Name)
		if event {
			get = eventField(s, i, f.Name)
		}
		fname := f.Name
		o.fields[f.Name] = &types.FieldType{
			Type: celType(f.Kind),
			IsSet: func(obj any) bool {
				v, ok := get(obj)
				return ok && !v.IsNull()
			},
			GetFrom: func(obj any) (any, error) {
				v, ok := get(obj)
				if !ok {
					return nil, fmt.Errorf("no %s to read %s from", name, fname)
				}
				if v.Kind() == stream.KindInt {
					return types.Int(v.Int()), nil
				}
				return valueToCEL(v), nil
			},
		}
	}
	return o
}

func recordField(s *stream.Schema, i int, field string) func(obj any) (stream.Value, bool) {
	return func(obj any) (stream.Value, bool) {
		r, ok := obj.(*stream.Record)
		if !ok || r == nil {
			return stream.Value{}, false
		}
		if r.Schema == s && i < len(r.Values) {
			return r.Values[i], true
		}
		return r.Get(field), true
	}
}

func eventField(s *stream.Schema, i int, field string) func(obj any) (stream.Value, bool) {
	return func(obj any) (stream.Value, bool) {
		ev, ok := obj.(*stream.Event)
		if !ok || ev == nil {
			return stream.Value{}, false
		}
		if ev.Schema == s && i < len(ev.Fields) {
			return ev.Fields[i], true
		}
		return ev.Get(field), true
	}
}

// windowObject declares a window result under typePrefix+name: count,
// first, last, span, key, start, end, name, kind, update and aggregates.
// aggregates is the object aggs (see aggregatesObject), one typed field
// per aggregate.
// With steps (a sequence's: see stepObject), steps is a list of them.
func windowObject(name string, aggs, steps *objectType) *objectType {
	o := &objectType{name: typePrefix + name, fields: map[string]*types.FieldType{}}
	o.typ = types.NewObjectType(o.name)
	add := func(name string, t *types.Type, get func(w *stream.WindowInfo) ref.Val) {
		o.names = append(o.names, name)
		o.fields[name] = &types.FieldType{
			Type:  t,
			IsSet: func(obj any) bool { w, ok := obj.(*stream.WindowInfo); return ok && w != nil },
			GetFrom: func(obj any) (any, error) {
				w, ok := obj.(*stream.WindowInfo)
				if !ok || w == nil {
					return nil, fmt.Errorf("no window to read %s from", name)
				}
				return get(w), nil
			},
		}
	}
	ts := func(ns int64) ref.Val { return types.Timestamp{Time: time.Unix(0, ns).UTC()} }
	add("count", types.IntType, func(w *stream.WindowInfo) ref.Val { return types.Int(w.Count) })
	add("first", types.TimestampType, func(w *stream.WindowInfo) ref.Val { return ts(w.First) })
	add("last", types.TimestampType, func(w *stream.WindowInfo) ref.Val { return ts(w.Last) })
	add("span", types.DurationType, func(w *stream.WindowInfo) ref.Val { return types.Duration{Duration: w.Span()} })
	add("key", types.StringType, func(w *stream.WindowInfo) ref.Val { return types.String(w.Key) })
	add("start", types.TimestampType, func(w *stream.WindowInfo) ref.Val { return ts(w.Start) })
	add("end", types.TimestampType, func(w *stream.WindowInfo) ref.Val { return ts(w.End) })
	add("name", types.StringType, func(w *stream.WindowInfo) ref.Val { return types.String(w.Name) })
	add("kind", types.StringType, func(w *stream.WindowInfo) ref.Val { return types.String(w.Kind) })
	add("update", types.BoolType, func(w *stream.WindowInfo) ref.Val { return types.Bool(w.Update) })
	add("aggregates", aggs.typ, func(w *stream.WindowInfo) ref.Val { return &object{typ: aggs, v: w} })
	if steps != nil {
		add("steps", types.NewListType(steps.typ), func(w *stream.WindowInfo) ref.Val {
			vals := make([]ref.Val, len(w.Steps))
			for i := range w.Steps {
				vals[i] = &object{typ: steps, v: &w.Steps[i]}
			}
			return types.NewRefValList(types.DefaultTypeAdapter, vals)
		})
	}
	return o
}

// stepObject declares an event a sequence matched (stream.Matched): the
// fields of schema, read by position, and time, its event time.
func stepObject(name string, schema *stream.Schema) *objectType {
	o := &objectType{name: typePrefix + name, fields: map[string]*types.FieldType{}}
	o.typ = types.NewObjectType(o.name)
	for i := 0; i < schema.Len(); i++ {
		f, idx := schema.Field(i), i
		o.names = append(o.names, f.Name)
		o.fields[f.Name] = &types.FieldType{
			Type: celType(f.Kind),
			IsSet: func(obj any) bool {
				m, ok := obj.(*stream.Matched)
				return ok && m != nil && idx < len(m.Fields) && !m.Fields[idx].IsNull()
			},
			GetFrom: func(obj any) (any, error) {
				m, ok := obj.(*stream.Matched)
				if !ok || m == nil || idx >= len(m.Fields) {
					return nil, fmt.Errorf("no matched event to read %s from", f.Name)
				}
				return valueToCEL(m.Fields[idx]), nil
			},
		}
	}
	if _, clash := o.fields["time"]; !clash {
		o.names = append(o.names, "time")
		o.fields["time"] = &types.FieldType{
			Type:  types.TimestampType,
			IsSet: func(obj any) bool { m, ok := obj.(*stream.Matched); return ok && m != nil },
			GetFrom: func(obj any) (any, error) {
				m, ok := obj.(*stream.Matched)
				if !ok || m == nil {
					return nil, fmt.Errorf("no matched event to read time from")
				}
				return types.Timestamp{Time: time.Unix(0, m.Time).UTC()}, nil
			},
		}
	}
	return o
}

// aggregatesObject declares a window's typed aggregates: one field per
// aggregate, read from WindowInfo.Aggs; a missing or null result reads as
// null.
func aggregatesObject(name string, aggs []stream.Field) *objectType {
	o := &objectType{name: typePrefix + name, fields: map[string]*types.FieldType{}}
	o.typ = types.NewObjectType(o.name)
	for _, a := range aggs {
		agg := a.Name
		o.names = append(o.names, agg)
		o.fields[agg] = &types.FieldType{
			Type: celType(a.Kind),
			IsSet: func(obj any) bool {
				w, ok := obj.(*stream.WindowInfo)
				return ok && w != nil && !w.Aggs[agg].IsNull()
			},
			GetFrom: func(obj any) (any, error) {
				w, ok := obj.(*stream.WindowInfo)
				if !ok || w == nil {
					return nil, fmt.Errorf("no window to read aggregate %s from", agg)
				}
				return valueToCEL(w.Aggs[agg]), nil
			},
		}
	}
	return o
}

func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if o, ok := p.objects[name]; ok {
		return types.NewTypeTypeWithParam(o.typ), true
	}
	return p.Registry.FindStructType(name)
}

func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if o, ok := p.objects[name]; ok {
		return append([]string(nil), o.names...), true
	}
	return p.Registry.FindStructFieldNames(name)
}

func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if o, ok := p.objects[name]; ok {
		ft, ok := o.fields[field]
		return ft, ok
	}
	return p.Registry.FindStructFieldType(name, field)
}

// NativeToValue wraps the event, records and window results as CEL objects.
func (p *provider) NativeToValue(v any) ref.Val {
	switch x := v.(type) {
	case types.Int: // the common field values first: cheaper than the interface case
		return x
	case types.Bool:
		return x
	case types.String:
		return x
	case ref.Val:
		return x
	case *stream.Event:
		return &object{typ: p.objects[typePrefix+"event"], v: x}
	case *stream.WindowInfo:
		return &object{typ: p.objects[typePrefix+"window"], v: x}
	case *stream.Record:
		if x != nil && x.Schema != nil {
			for _, o := range p.objects {
				if o.name == typePrefix+x.Schema.Name() {
					return &object{typ: o, v: x}
				}
			}
		}
	}
	return p.Registry.NativeToValue(v)
}

// object is an event, record or window result seen from CEL.
type object struct {
	typ *objectType
	v   any
}

var _ traits.Indexer = (*object)(nil)

func (o *object) ConvertToNative(t reflect.Type) (any, error) {
	if o.v != nil && reflect.TypeOf(o.v).AssignableTo(t) {
		return o.v, nil
	}
	return nil, fmt.Errorf("%s cannot convert to %v", o.typ.name, t)
}

func (o *object) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return o.typ.typ
	}
	return types.NewErr("%s cannot convert to %s", o.typ.name, t.TypeName())
}

func (o *object) Equal(other ref.Val) ref.Val {
	x, ok := other.(*object)
	return types.Bool(ok && x.v == o.v)
}

func (o *object) Type() ref.Type { return o.typ.typ }
func (o *object) Value() any     { return o.v }

// Get returns a field by name.
func (o *object) Get(index ref.Val) ref.Val {
	name, ok := index.(types.String)
	if !ok {
		return types.NewErr("no such key: %v", index)
	}
	ft, ok := o.typ.fields[string(name)]
	if !ok {
		return types.NewErr("no such field: %s", name)
	}
	v, err := ft.GetFrom(o.v)
	if err != nil {
		return types.WrapErr(err)
	}
	return v.(ref.Val)
}

// RecordOf returns the record behind a CEL value of a record type, for
// functions declared over RecordType (such as risk(account)).
func RecordOf(v ref.Val) (*stream.Record, bool) {
	r, ok := v.Value().(*stream.Record)
	return r, ok && r != nil
}
