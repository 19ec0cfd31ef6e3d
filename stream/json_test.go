package stream

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// testJSONSchema has one field of every kind.
var testJSONSchema = MustSchema("rec",
	Field{Name: "id", Kind: KindInt},
	Field{Name: "name", Kind: KindString},
	Field{Name: "at", Kind: KindTime},
	Field{Name: "score", Kind: KindFloat},
	Field{Name: "ok", Kind: KindBool},
	Field{Name: "ms", Kind: KindTime},
)

var testJSONSpec = RecordSpec{Schema: testJSONSchema, TimeField: "at", KeyFields: []string{"id"},
	TimeFormats: map[string]TimeFormat{"ms": MustParseTimeFormat("unix_ms")}}

func testJSONDecoder(t testing.TB, strict bool) *JSONDecoder {
	d, err := NewJSONDecoder(testJSONSpec, JSONConfig{Strict: strict})
	require.NoError(t, err)
	return d
}

func TestJSONDecoder(t *testing.T) {
	d := testJSONDecoder(t, false)
	require.Same(t, testJSONSchema, d.Schema())
	line := ` {"id": 42, "name":"Ann","at":"2014-10-01 10:00:00", "score":2, "ok":true, "ms":1412157600123,` +
		` "extra": {"a":[1,{"b":"}"}],"c":null}, "more":[true,false,-1.5e3,"\"]"]} `
	ev := Event{Fields: make([]Value, testJSONSchema.Len())}
	require.NoError(t, d.Decode(line, &ev))
	require.Same(t, testJSONSchema, ev.Schema)
	require.Equal(t, []Value{Int(42), String("Ann"), TimeNanos(ns(2014, 10, 1, 10, 0, 0, 0)), Float(2), Bool(true),
		TimeNanos(ns(2014, 10, 1, 10, 0, 0, 123e6))}, ev.Fields)
	require.Equal(t, "42", ev.Key)
	require.Equal(t, unsafe.StringData(line[8:]), unsafe.StringData(ev.Key), "the key shares the line")
	require.Equal(t, ns(2014, 10, 1, 10, 0, 0, 0), ev.Time)

	// Any order; missing and null fields are null; escapes are decoded.
	require.NoError(t, d.Decode(`{"ms":"1412157600123","score":null,"at":"2014-10-01T10:00:00Z","name":"\u00c5s\ud83d\ude00\n\"x\"\ud800","id":-0}`, &ev))
	require.Equal(t, []Value{Int(0), String("Ås😀\n\"x\"\uFFFD"), TimeNanos(ns(2014, 10, 1, 10, 0, 0, 0)), {}, {},
		TimeNanos(ns(2014, 10, 1, 10, 0, 0, 123e6))}, ev.Fields)
	require.Equal(t, "0", ev.Key)
	require.NoError(t, d.Decode(`{"\u0069d":7,"at":"2014-10-01 10:00:00"}`, &ev), "escaped keys match")
	require.Equal(t, "7", ev.Key)
}

func TestJSONDecoderErrors(t *testing.T) {
	const at = `"at":"2014-10-01 10:00:00"`
	cases := map[string]string{
		``:                                         `not a JSON object`,
		`[1]`:                                      `not a JSON object`,
		`{"id":1,` + at + `} x`:                    `text after the JSON object at byte 36`,
		`{"id":1,` + at + `}}`:                     `text after the JSON object at byte 35`,
		`{"id":1,` + at:                            `JSON ends early: want ',' or '}'`,
		`{"id":1,` + at + `,}`:                     `invalid JSON at byte 35: want a key string, found "}"`,
		`{"id":01,` + at + `}`:                     `invalid JSON at byte 7: want ',' or '}', found "1,\"at\":\""`,
		`{"id":1,"x":[1,2,` + at + `}`:             `invalid JSON at byte 21: want ',' or ']', found ":\"2014-1"`,
		`{"id":1,"x":"a\qb",` + at + `}`:           `invalid JSON at byte 14: want a valid escape, found "\\qb\",\"at"`,
		`{"id":1,"x":tru,` + at + `}`:              `invalid JSON at byte 12: want true, found "tru,\"at\""`,
		"{\"id\":1,\"x\":\"a\tb\"," + at + `}`:     `invalid JSON at byte 14: want no control character in a string, found "\tb\",\"at\""`,
		`{"id":1,"x":-,` + at + `}`:                `invalid JSON at byte 13: want a digit, found ",\"at\":\"2"`,
		`{"id":1.5,` + at + `}`:                    `field id: "1.5" is not an integer in int64's range`,
		`{"id":1e2,` + at + `}`:                    `field id: "1e2" is not an integer in int64's range`,
		`{"id":9223372036854775808,` + at + `}`:    `field id: "9223372036854775808" is not an integer in int64's range`,
		`{"id":"1",` + at + `}`:                    `field id: want an integer, got a string`,
		`{"id":1,"name":5,` + at + `}`:             `field name: want a string, got a number`,
		`{"id":1,"ok":1,` + at + `}`:               `field ok: want a bool, got a number`,
		`{"id":1,"ok":"true",` + at + `}`:          `field ok: want a bool, got a string`,
		`{"id":1,"score":"1",` + at + `}`:          `field score: want a float, got a string`,
		`{"id":1,"score":1e999,` + at + `}`:        `field score: "1e999" is out of a float's range`,
		`{"id":1,"name":{},` + at + `}`:            `field name: want a string, got an object`,
		`{"id":1,"name":[],` + at + `}`:            `field name: want a string, got an array`,
		`{"id":1,"at":1412157600}`:                 `field at: want a time string, got a number`,
		`{"id":1,"ms":true,` + at + `}`:            `field ms: want a time (number or string), got a bool`,
		`{"id":1,"ms":1.5,` + at + `}`:             `field ms: "1.5" is not a unix time in milliseconds (an integer)`,
		`{"id":1,"at":"9999-12-31 00:00:00"}`:      `field at: "9999-12-31 00:00:00" is outside the representable time range (1678-01-01 to 2262-04-11)`,
		`{"id":1,"ms":253402214400000,` + at + `}`: `field ms: "253402214400000" is outside the representable time range (1678-01-01 to 2262-04-11)`,
		`{"id":1}`:                                 `time field at is missing`,
		`{"id":1,"at":null}`:                       `time field at is missing`,
		`{` + at + `}`:                             `key field id is empty`,
		`{"id":null,` + at + `}`:                   `key field id is empty`,
		`{"id":1,"id":2,` + at + `}`:               `field id appears twice`,
		`{"id":1,"i\u0064":2,` + at + `}`:          `field id appears twice`,
	}
	d := testJSONDecoder(t, false)
	for line, want := range cases {
		ev := Event{Fields: make([]Value, testJSONSchema.Len())}
		if err := d.Decode(line, &ev); err == nil || err.Error() != want {
			t.Errorf("%s\n got  %v\n want %s", line, err, want)
		}
	}
	var fe *FieldError
	err := d.Decode(`{"id":1,"name":5,`+at+`}`, &Event{})
	require.True(t, errors.As(err, &fe))
	require.Equal(t, "name", fe.Field)

	strict := testJSONDecoder(t, true)
	require.EqualError(t, strict.Decode(`{"id":1,"nom":"x",`+at+`}`, &Event{}), `unknown field "nom"`)
	require.True(t, errors.Is(strict.Decode(`{"id":1,"nom":"x",`+at+`}`, &Event{}), ErrUnknownField))
	require.NoError(t, strict.Decode(`{"id":1,`+at+`}`, &Event{}))

	deep := `{"id":1,` + at + `,"x":` + strings.Repeat("[", maxJSONDepth-1) + strings.Repeat("]", maxJSONDepth-1) + `}`
	require.NoError(t, d.Decode(deep, &Event{}), "as deep as encoding/json goes")
	deep = `{"id":1,` + at + `,"x":` + strings.Repeat("[", maxJSONDepth) + strings.Repeat("]", maxJSONDepth) + `}`
	require.EqualError(t, d.Decode(deep, &Event{}), "JSON nested too deeply")
	require.Error(t, json.Unmarshal([]byte(deep), new(map[string]any)))
}

func TestNewJSONDecoderErrors(t *testing.T) {
	_, err := NewJSONDecoder(RecordSpec{Schema: testJSONSchema, TimeField: "id"}, JSONConfig{})
	require.EqualError(t, err, `JSON decoder: record spec: time field "id" has kind int, want time`)
}

// FuzzJSONDecoder compares the decoder with encoding/json: when
// encoding/json accepts the input as an object, the decoder agrees on every
// declared field or reports an error of one field (a type error, a
// duplicate, a missing time or key); when encoding/json rejects it, so does
// the decoder. It never panics. Inputs that are not UTF-8 are skipped: the
// sources reject them before decoding (encoding/json would replace the bad
// bytes).
func FuzzJSONDecoder(f *testing.F) {
	for _, s := range []string{
		`{"id":42,"name":"Ann","at":"2014-10-01 10:00:00","score":2.5,"ok":true,"ms":1412157600123}`,
		`{"id":-0,"name":"\u00c5\ud83d\ude00\ud800x","at":"2014-10-01T10:00:00Z","ms":"1"}`,
		`{"id":1,"at":"2014-10-01 10:00:00","x":{"a":[1,{"b":"}"}],"c":null},"y":[true,false,-1.5e3,"\"]"]}`,
		`{"id":1,"id":2}`, `{"id":1.0}`, `{"id":1e2}`, `{}`, `[]`, `null`, `{"a":1,}`, `{"a" 1}`, ` {"id":7} x`,
		`{"id":9223372036854775807,"at":"2262-04-11T23:47:16.854775807Z"}`, `{"i\u0064":1}`, `{"x":"\uDE00\uD83D"}`,
	} {
		f.Add(s)
	}
	d := testJSONDecoder(f, false)
	f.Fuzz(func(t *testing.T, line string) {
		if !utf8.ValidString(line) {
			return
		}
		ev := Event{Fields: make([]Value, testJSONSchema.Len())}
		err := d.Decode(line, &ev)
		var m map[string]json.RawMessage
		jerr := json.Unmarshal([]byte(line), &m)
		if jerr != nil || m == nil { // null is not an object
			if err == nil {
				t.Fatalf("%q: decoded, but encoding/json says %v", line, jerr)
			}
			return
		}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || testJSONSchema.Index(fe.Field) < 0 {
				t.Fatalf("%q: encoding/json accepts it, the decoder says %v", line, err)
			}
			return
		}
		for i := 0; i < testJSONSchema.Len(); i++ {
			fd := testJSONSchema.Field(i)
			got := ev.Fields[i]
			raw, ok := m[fd.Name]
			if !ok || string(raw) == "null" {
				if !got.IsNull() {
					t.Fatalf("%q: %s is %v, want null", line, fd.Name, got)
				}
				continue
			}
			var want Value
			switch fd.Kind {
			case KindInt:
				var n int64
				mustUnmarshal(t, raw, &n)
				want = Int(n)
			case KindString:
				var s string
				mustUnmarshal(t, raw, &s)
				want = String(s)
			case KindFloat:
				var x float64
				mustUnmarshal(t, raw, &x)
				want = Float(x)
				if x == 0 { // -0 and 0
					want = Float(got.Float())
				}
			case KindBool:
				var b bool
				mustUnmarshal(t, raw, &b)
				want = Bool(b)
			case KindTime:
				text := string(raw)
				if raw[0] == '"' {
					mustUnmarshal(t, raw, &text)
				}
				n, err := testJSONSpec.TimeFormats[fd.Name].Parse(text)
				if err != nil {
					t.Fatalf("%q: %s: decoded, but %v", line, fd.Name, err)
				}
				want = TimeNanos(n)
			}
			if !got.Equal(want) {
				t.Fatalf("%q: %s is %v, encoding/json says %v", line, fd.Name, got, want)
			}
		}
		if ev.Key != strconv.FormatInt(ev.Fields[0].Int(), 10) || ev.Time != ev.Fields[2].Nanos() {
			t.Fatalf("%q: key %q, time %d", line, ev.Key, ev.Time)
		}
	})
}

func mustUnmarshal(t *testing.T, raw []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s: the decoder took it, encoding/json says %v", raw, err)
	}
}
