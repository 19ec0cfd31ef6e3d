package targets

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/rulestream/rulestream/stream"
)

// fieldPicker resolves a list of payload field names (nil = all fields) to
// indices of an event's schema, caching the last schema seen: emissions of
// one target usually share one schema.
type fieldPicker struct {
	names  []string // nil: all fields of the schema
	schema *stream.Schema
	idx    []int // index per name, -1 when the schema lacks it
}

func (f *fieldPicker) pick(s *stream.Schema) []int {
	if s == f.schema && f.schema != nil {
		return f.idx
	}
	f.schema = s
	f.idx = f.idx[:0]
	if s == nil {
		return f.idx
	}
	if f.names == nil {
		for i := 0; i < s.Len(); i++ {
			f.idx = append(f.idx, i)
		}
		return f.idx
	}
	for _, n := range f.names {
		f.idx = append(f.idx, s.Index(n))
	}
	return f.idx
}

// appendJSON appends the picked fields of ev as a JSON object. Missing fields
// are written as null, times as RFC 3339 strings, non-finite floats as null.
func appendJSON(b []byte, ev *stream.Event, idx []int, names []string) []byte {
	b = append(b, '{')
	for j, i := range idx {
		if j > 0 {
			b = append(b, ',')
		}
		var name string
		if names != nil {
			name = names[j]
		}
		var v stream.Value
		if i >= 0 {
			name = ev.Schema.Field(i).Name
			if i < len(ev.Fields) {
				v = ev.Fields[i]
			}
		}
		b = appendJSONString(b, name)
		b = append(b, ':')
		b = appendJSONValue(b, v)
	}
	return append(b, '}')
}

func appendJSONValue(b []byte, v stream.Value) []byte {
	switch v.Kind() {
	case stream.KindInt:
		return strconv.AppendInt(b, v.Int(), 10)
	case stream.KindFloat:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case stream.KindBool:
		return strconv.AppendBool(b, v.Bool())
	case stream.KindString, stream.KindTime:
		return appendJSONString(b, v.Text())
	}
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
