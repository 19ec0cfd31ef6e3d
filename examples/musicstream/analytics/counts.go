package analytics

import (
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/rulestream/rulestream/stream"
)

// counts is the accumulator of countsAgg: plays per value of a field.
type counts = map[stream.Value]int64

// countsAgg counts the plays of each value of a field within a window (a
// window.Custom aggregate): one window per hour then carries the whole
// breakdown, instead of one keyed window per zip code or track. Its Result
// is a string Value holding the counts by the values' text (decodeResult).
type countsAgg struct{}

func (countsAgg) Add(acc counts, v stream.Value) counts {
	if acc == nil {
		acc = counts{}
	}
	acc[v]++
	return acc
}

func (countsAgg) Merge(a, b counts) counts {
	if a == nil {
		a = counts{}
	}
	for k, n := range b {
		a[k] += n
	}
	return a
}

// sortedKeys returns the values of c in a fixed order (kind, then text).
func sortedKeys(c counts) []stream.Value {
	keys := make([]stream.Value, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Kind() != keys[j].Kind() {
			return keys[i].Kind() < keys[j].Kind()
		}
		return keys[i].Text() < keys[j].Text()
	})
	return keys
}

// Result encodes the counts by text: (uvarint length, text, varint count)...
// in no particular order.
func (countsAgg) Result(acc counts) stream.Value {
	var b []byte
	for k := range acc { // any order: the writer sums into a map
		t := k.Text()
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
		b = binary.AppendVarint(b, acc[k])
	}
	return stream.String(string(b))
}

// decodeResult calls fn for each (text, count) of a Result; values of
// different kinds with one text (1 and "1") are reported separately.
func decodeResult(s string, fn func(key string, n int64)) error {
	d := &decoder{b: []byte(s)}
	for d.off < len(d.b) && d.err == nil {
		k := d.bytes("key")
		n := d.varint("count")
		if d.err == nil {
			fn(string(k), n)
		}
	}
	return d.err
}

// Encode writes the accumulator for snapshots: (kind, uvarint length, text,
// varint count)..., sorted.
func (countsAgg) Encode(acc counts) []byte {
	var b []byte
	for _, k := range sortedKeys(acc) {
		t := k.Text()
		b = append(b, byte(k.Kind()))
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
		b = binary.AppendVarint(b, acc[k])
	}
	return b
}

// Decode reads what Encode wrote.
func (countsAgg) Decode(b []byte) (counts, error) {
	d := &decoder{b: b}
	var c counts
	for d.off < len(d.b) && d.err == nil {
		kind := stream.Kind(d.byte1("kind"))
		t := d.bytes("value")
		n := d.varint("count")
		if d.err != nil {
			break
		}
		if kind == stream.KindNull {
			return nil, fmt.Errorf("%w: null value in counts", ErrCorrupt)
		}
		v, err := stream.ParseValue(kind, string(t))
		if err != nil {
			return nil, fmt.Errorf("%w: counts: %v", ErrCorrupt, err)
		}
		if c == nil {
			c = counts{}
		}
		c[v] += n
	}
	return c, d.err
}
