package targets

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/rulestream/rulestream/stream"
)

var fuzzSchema = stream.MustSchema("f",
	stream.Field{Name: "s", Kind: stream.KindString},
	stream.Field{Name: "n", Kind: stream.KindInt},
	stream.Field{Name: "x", Kind: stream.KindFloat},
	stream.Field{Name: "b", Kind: stream.KindBool},
	stream.Field{Name: "t", Kind: stream.KindTime},
)

// FuzzJSONPayload checks that any field content gives valid JSON that
// decodes back to the same string (invalid UTF-8 aside).
func FuzzJSONPayload(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "ctl\x00\x1f\n", "é✓", "\xff\xfe"} {
		f.Add(s, int64(-3), 1.5)
	}
	f.Fuzz(func(t *testing.T, s string, n int64, x float64) {
		ev := stream.Event{Schema: fuzzSchema, Fields: []stream.Value{stream.String(s), stream.Int(n),
			stream.Float(x), stream.Bool(n%2 == 0), stream.TimeNanos(n)}}
		var p fieldPicker
		b := appendJSON(nil, &ev, p.pick(fuzzSchema), nil)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("invalid JSON %q: %v", b, err)
		}
		if len(m) != 5 {
			t.Fatalf("%s: %d keys", b, len(m))
		}
		want, _ := json.Marshal(s) // encoding/json also replaces invalid UTF-8
		var ws string
		_ = json.Unmarshal(want, &ws)
		if m["s"] != ws {
			t.Fatalf("s = %q, want %q", m["s"], ws)
		}
	})
}

func TestPackerHeaders(t *testing.T) {
	var p packer
	p.reset()
	for _, n := range []int{0, 31, 32, 255, 256, 65535, 65536} {
		p.bytes(make([]byte, n))
	}
	b := p.finish()
	if b[0] != 0xdd || b[4] != 7 {
		t.Fatalf("header % x", b[:5])
	}
	want := 5 + (1 + 0) + (1 + 31) + (2 + 32) + (2 + 255) + (3 + 256) + (3 + 65535) + (5 + 65536)
	if len(b) != want {
		t.Fatalf("len %d, want %d", len(b), want)
	}
}

// TestSameLayoutSharesChunk: schemas with the same layout share a script,
// so events alternating between them fill one chunk, not one each.
func TestSameLayoutSharesChunk(t *testing.T) {
	s, err := NewRedis(nil, Config{Writes: []Write{XAdd("q")}})
	if err != nil {
		t.Fatal(err)
	}
	mk := func() *stream.Schema { return stream.MustSchema("e", stream.Field{Name: "n", Kind: stream.KindInt}) }
	schemas := []*stream.Schema{mk(), mk()}
	for i := range 100 {
		ev := stream.Event{Schema: schemas[i%2], ID: strconv.Itoa(i), Fields: []stream.Value{stream.Int(int64(i))}}
		if _, err := s.encode(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.chunks) != 1 || s.chunks[0].events != 100 {
		t.Fatalf("%d chunks, want 1 of 100 events", len(s.chunks))
	}
}

// TestTooWideSchema: a command the script could not pass is refused with an
// error naming the write, not sent to fail in Redis.
func TestTooWideSchema(t *testing.T) {
	fields := make([]stream.Field, 4000)
	for i := range fields {
		fields[i] = stream.Field{Name: "f" + strconv.Itoa(i), Kind: stream.KindInt}
	}
	schema := stream.MustSchema("huge", fields...)
	s, err := NewRedis(nil, Config{Writes: []Write{XAdd("q")}})
	if err != nil {
		t.Fatal(err)
	}
	ev := stream.Event{Schema: schema, ID: "1", Fields: make([]stream.Value, len(fields))}
	if _, err := s.encode(&ev); err == nil || !strings.Contains(err.Error(), "8003 arguments") {
		t.Fatalf("encode: %v", err)
	}
}
