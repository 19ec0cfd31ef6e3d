package analytics

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rulestream/rulestream/stream"
)

// counts is a breakdown: plays per value of a field.
type counts = map[stream.Value]int64

// countAcc is the accumulator of countsAgg. Strings and ints, the kinds the
// analytics count, have maps of their own, whose hashing is much cheaper
// than a stream.Value key's; other kinds go to rest. A pointer, so that the
// window holds it in an interface without allocating per event.
type countAcc = *struct {
	strs map[string]int64
	ints map[int64]int64
	rest counts
}

// countsAgg counts the plays of each value of a field within a window (a
// window.Custom aggregate): one window per hour then carries the whole
// breakdown, instead of one keyed window per zip code or track. Its Result
// is a string Value holding the counts by the values' text (decodeResult).
type countsAgg struct{}

func newCountAcc() countAcc {
	return &struct {
		strs map[string]int64
		ints map[int64]int64
		rest counts
	}{strs: map[string]int64{}, ints: map[int64]int64{}, rest: counts{}}
}

func (countsAgg) Add(acc countAcc, v stream.Value) countAcc {
	if acc == nil {
		acc = newCountAcc()
	}
	switch v.Kind() {
	case stream.KindString:
		if n, ok := acc.strs[v.Str()]; ok {
			acc.strs[v.Str()] = n + 1
		} else {
			// A decoded string shares the memory of its input line: keep a
			// copy, or the window would hold the hour's input alive.
			acc.strs[strings.Clone(v.Str())] = 1
		}
	case stream.KindInt:
		acc.ints[v.Int()]++
	default:
		acc.rest[v]++
	}
	return acc
}

// toMap returns the counts of acc by value.
func toMap(acc countAcc) counts {
	c := counts{}
	if acc == nil {
		return c
	}
	for k, n := range acc.strs {
		c[stream.String(k)] += n
	}
	for k, n := range acc.ints {
		c[stream.Int(k)] += n
	}
	for k, n := range acc.rest {
		c[k] += n
	}
	return c
}

func fromMap(c counts) countAcc {
	var acc countAcc
	for k, n := range c {
		acc = countsAgg{}.Add(acc, k)
		switch k.Kind() {
		case stream.KindString:
			acc.strs[k.Str()] = n
		case stream.KindInt:
			acc.ints[k.Int()] = n
		default:
			acc.rest[k] = n
		}
	}
	return acc
}

func (countsAgg) Merge(a, b countAcc) countAcc {
	if a == nil {
		return b
	}
	if b == nil {
		return a
	}
	for k, n := range b.strs {
		a.strs[k] += n
	}
	for k, n := range b.ints {
		a.ints[k] += n
	}
	for k, n := range b.rest {
		a.rest[k] += n
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
func (countsAgg) Result(acc countAcc) stream.Value {
	if acc == nil {
		return stream.String("")
	}
	var b []byte
	put := func(t string, n int64) {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
		b = binary.AppendVarint(b, n)
	}
	for k, n := range acc.strs { // any order: the writer sums into a map
		put(k, n)
	}
	var num []byte
	for k, n := range acc.ints {
		num = strconv.AppendInt(num[:0], k, 10)
		put(string(num), n)
	}
	for k, n := range acc.rest {
		put(k.Text(), n)
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
func (countsAgg) Encode(acc countAcc) []byte { return encodeCounts(toMap(acc)) }

// Decode reads what Encode wrote.
func (countsAgg) Decode(b []byte) (countAcc, error) {
	c, err := decodeCounts(b)
	if err != nil {
		return nil, err
	}
	return fromMap(c), nil
}

func encodeCounts(c counts) []byte {
	var b []byte
	for _, k := range sortedKeys(c) {
		t := k.Text()
		b = append(b, byte(k.Kind()))
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
		b = binary.AppendVarint(b, c[k])
	}
	return b
}

func decodeCounts(b []byte) (counts, error) {
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

// fewCounts is the accumulator of fewAgg: counts of a field with few values
// (level, gender, age band), kept in a slice searched linearly, which is
// cheaper than hashing for a handful of values. A pointer, so that the
// window holds it in an interface without allocating per event.
type fewCounts = *struct {
	vals []stream.Value
	ns   []int64
}

// fewAgg is countsAgg for fields with few distinct values; same Result and
// snapshot encoding.
type fewAgg struct{}

func (fewAgg) Add(acc fewCounts, v stream.Value) fewCounts {
	if acc == nil {
		acc = &struct {
			vals []stream.Value
			ns   []int64
		}{}
	}
	for i := range acc.vals {
		if acc.vals[i].Equal(v) {
			acc.ns[i]++
			return acc
		}
	}
	if v.Kind() == stream.KindString {
		v = stream.String(strings.Clone(v.Str())) // see countsAgg.Add
	}
	acc.vals = append(acc.vals, v)
	acc.ns = append(acc.ns, 1)
	return acc
}

func (fewAgg) toMap(acc fewCounts) counts {
	c := counts{}
	if acc != nil {
		for i, v := range acc.vals {
			c[v] += acc.ns[i]
		}
	}
	return c
}

func (f fewAgg) fromMap(c counts) fewCounts {
	var acc fewCounts
	for _, k := range sortedKeys(c) {
		acc = f.Add(acc, k)
		acc.ns[len(acc.ns)-1] = c[k]
	}
	return acc
}

func (f fewAgg) Merge(a, b fewCounts) fewCounts {
	c := f.toMap(a)
	for k, n := range f.toMap(b) {
		c[k] += n
	}
	return f.fromMap(c)
}

func (f fewAgg) Result(acc fewCounts) stream.Value {
	if acc == nil {
		return stream.String("")
	}
	return countsAgg{}.Result(fromMap(f.toMap(acc)))
}

func (f fewAgg) Encode(acc fewCounts) []byte { return encodeCounts(f.toMap(acc)) }

func (f fewAgg) Decode(b []byte) (fewCounts, error) {
	c, err := decodeCounts(b)
	if err != nil {
		return nil, err
	}
	return f.fromMap(c), nil
}
