package window

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"

	"github.com/rulestream/rulestream/stream"
)

// Kinds of key identity held by a keyTable slot.
const (
	keyFree uint8 = iota
	keyInts       // up to two int fields, packed in ints
	keyStr        // one string field, the string itself
	keyEnc        // anything else, encoded kinds and values
)

// keyFields resolves the KeyBy fields of events, caching the field positions
// of the last schema seen.
type keyFields struct {
	names  []string
	schema *stream.Schema
	idx    []int
	vals   []stream.Value
	seen   bool  // schema holds the last schema seen
	err    error // what the last schema lacks, or nil
}

// check reports an event whose schema lacks a key field (or that has no
// schema): keying it would read null and lump it with every other such
// event, a silently wrong result. kind and name name the operator in the
// error (passed apart: joining them on every call would allocate).
func (k *keyFields) check(ev *stream.Event, kind, name string) error {
	if k.seen && ev.Schema == k.schema {
		return k.err
	}
	k.values(ev)
	k.seen, k.err = true, missingKey(kind+" "+name, ev.Schema, k.names)
	return k.err
}

// missingKey reports the key fields schema lacks, or nil.
func missingKey(op string, schema *stream.Schema, names []string) error {
	if schema == nil {
		return fmt.Errorf("%s: an event without a schema (its decoder set none): its key fields %s cannot be read", op, strings.Join(names, ", "))
	}
	var missing []string
	for _, n := range names {
		if schema.Index(n) < 0 {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	have := make([]string, schema.Len())
	for i := range have {
		have[i] = schema.Field(i).Name
	}
	return fmt.Errorf("%s: key field %s not in the events' schema %s (fields: %s)", op, strings.Join(missing, ", "), schema.Name(), strings.Join(have, ", "))
}

// keyValues returns the key values of slot s (nfields KeyBy fields).
func (t *keyTable) keyValues(s int32, nfields int) []stream.Value {
	switch t.kind[s] {
	case keyInts:
		vals := []stream.Value{stream.Int(t.ik[s][0])}
		if nfields > 1 {
			vals = append(vals, stream.Int(t.ik[s][1]))
		}
		return vals
	case keyStr:
		return []stream.Value{stream.String(t.sk[s])}
	case keyEnc:
		return decodeVals(t.sk[s])
	}
	return nil
}

func newKeyFields(names []string) keyFields {
	return keyFields{names: names, idx: make([]int, len(names)), vals: make([]stream.Value, len(names))}
}

// values returns the key values of ev (null for a missing field). The slice
// is reused by the next call.
func (k *keyFields) values(ev *stream.Event) []stream.Value {
	if ev.Schema != k.schema || k.schema == nil {
		k.schema = ev.Schema
		for i, n := range k.names {
			k.idx[i] = -1
			if ev.Schema != nil {
				k.idx[i] = ev.Schema.Index(n)
			}
		}
	}
	for i, j := range k.idx {
		if j >= 0 && j < len(ev.Fields) {
			k.vals[i] = ev.Fields[j]
		} else {
			k.vals[i] = stream.Value{}
		}
	}
	return k.vals
}

// keyTable interns keys into dense slots without allocating on lookups:
// keys of one or two int fields are packed into a [2]int64, a single string
// field is its own map key, other keys are encoded into a scratch buffer.
// Slots are reused after remove.
type keyTable struct {
	ints    map[[2]int64]int32
	strs    map[string]int32
	encs    map[string]int32
	kind    []uint8
	ik      [][2]int64
	sk      []string // grown only once a string key is interned
	free    []int32
	live    int
	scratch []byte
}

func newKeyTable() *keyTable {
	return &keyTable{ints: map[[2]int64]int32{}, strs: map[string]int32{}, encs: map[string]int32{}}
}

func encodeKey(b []byte, vals []stream.Value) []byte {
	for _, v := range vals {
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
	}
	return b
}

func classify(vals []stream.Value) uint8 {
	if len(vals) <= 2 {
		ints := true
		for _, v := range vals {
			ints = ints && v.Kind() == stream.KindInt
		}
		if ints {
			return keyInts
		}
	}
	if len(vals) == 1 && vals[0].Kind() == stream.KindString {
		return keyStr
	}
	return keyEnc
}

// find returns the slot of the key, or -1. create interns a new key; the
// bool reports that it did.
func (t *keyTable) find(vals []stream.Value, create bool) (int32, bool) {
	switch classify(vals) {
	case keyInts:
		var k [2]int64
		for i, v := range vals {
			k[i] = v.Int()
		}
		if s, ok := t.ints[k]; ok || !create {
			return orMinus(s, ok), false
		}
		s := t.alloc(keyInts)
		t.ik[s] = k
		t.ints[k] = s
		return s, true
	case keyStr:
		str := vals[0].Str()
		if s, ok := t.strs[str]; ok || !create {
			return orMinus(s, ok), false
		}
		s := t.alloc(keyStr)
		str = strings.Clone(str) // do not pin the batch the value came from
		t.sk[s] = str
		t.strs[str] = s
		return s, true
	default:
		t.scratch = encodeKey(t.scratch[:0], vals)
		if s, ok := t.encs[unsafe.String(unsafe.SliceData(t.scratch), len(t.scratch))]; ok || !create {
			return orMinus(s, ok), false
		}
		s := t.alloc(keyEnc)
		str := string(t.scratch)
		t.sk[s] = str
		t.encs[str] = s
		return s, true
	}
}

func orMinus(s int32, ok bool) int32 {
	if ok {
		return s
	}
	return -1
}

func (t *keyTable) alloc(kind uint8) int32 {
	var s int32
	if n := len(t.free); n > 0 {
		s = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		s = int32(len(t.kind))
		t.kind = append(t.kind, keyFree)
		t.ik = append(t.ik, [2]int64{})
	}
	if kind != keyInts && len(t.sk) < len(t.kind) {
		t.sk = append(t.sk, make([]string, len(t.kind)-len(t.sk))...)
	}
	t.kind[s] = kind
	t.live++
	return s
}

// remove frees a slot.
func (t *keyTable) remove(s int32) {
	switch t.kind[s] {
	case keyInts:
		delete(t.ints, t.ik[s])
	case keyStr:
		delete(t.strs, t.sk[s])
		t.sk[s] = ""
	case keyEnc:
		delete(t.encs, t.sk[s])
		t.sk[s] = ""
	default:
		return
	}
	t.kind[s] = keyFree
	t.ik[s] = [2]int64{}
	t.free = append(t.free, s)
	t.live--
}

// slots is the number of slots ever allocated (live or free).
func (t *keyTable) slots() int { return len(t.kind) }

// decodeVals returns the key values of an encoded slot.
func decodeVals(enc string) []stream.Value {
	d := &decoder{b: []byte(enc)}
	var vals []stream.Value
	for d.off < len(d.b) && d.err == nil {
		switch k := stream.Kind(d.u8()); k {
		case stream.KindString:
			n := d.count()
			if d.err == nil {
				vals = append(vals, stream.String(string(d.b[d.off:d.off+n])))
				d.off += n
			}
		case stream.KindFloat:
			vals = append(vals, stream.Float(d.f64()))
		case stream.KindNull:
			vals = append(vals, stream.Value{})
		case stream.KindInt:
			vals = append(vals, stream.Int(d.iv()))
		case stream.KindTime:
			vals = append(vals, stream.TimeNanos(d.iv()))
		case stream.KindBool:
			vals = append(vals, stream.Bool(d.iv() != 0))
		default:
			d.fail("bad key kind")
		}
	}
	return vals
}

// keyString is the WindowInfo.Key of a slot: the key values' text joined
// with '|'. nfields is the number of KeyBy fields.
func (t *keyTable) keyString(s int32, nfields int) string {
	switch t.kind[s] {
	case keyInts:
		b := strconv.AppendInt(make([]byte, 0, 24), t.ik[s][0], 10)
		if nfields > 1 {
			b = append(b, '|')
			b = strconv.AppendInt(b, t.ik[s][1], 10)
		}
		return string(b)
	case keyStr:
		return t.sk[s]
	case keyEnc:
		var b []byte
		for i, v := range decodeVals(t.sk[s]) {
			if i > 0 {
				b = append(b, '|')
			}
			b = v.AppendText(b)
		}
		return string(b)
	}
	return ""
}

// compare orders two slots by key content (ints numerically, strings
// bytewise), independent of slot numbers and thus of arrival order.
func (t *keyTable) compare(a, b int32) int {
	ka, kb := t.kind[a], t.kind[b]
	if c := cmp.Compare(ka, kb); c != 0 {
		return c
	}
	if ka == keyInts {
		return cmp.Or(cmp.Compare(t.ik[a][0], t.ik[b][0]), cmp.Compare(t.ik[a][1], t.ik[b][1]))
	}
	return strings.Compare(t.sk[a], t.sk[b])
}

// writeKey and readKey carry a slot's identity in snapshots.
func (t *keyTable) writeKey(e *encoder, s int32) {
	k := t.kind[s]
	e.u8(k)
	if k == keyInts {
		e.iv(t.ik[s][0])
		e.iv(t.ik[s][1])
	} else {
		e.str(t.sk[s])
	}
}

// readKey interns a key read from a snapshot and returns its slot.
func (t *keyTable) readKey(d *decoder) int32 {
	k := d.u8()
	var vals []stream.Value
	switch k {
	case keyInts:
		a, b := d.iv(), d.iv()
		if d.err != nil {
			return -1
		}
		if s, ok := t.ints[[2]int64{a, b}]; ok {
			return s
		}
		s := t.alloc(keyInts)
		t.ik[s] = [2]int64{a, b}
		t.ints[t.ik[s]] = s
		return s
	case keyStr:
		vals = []stream.Value{stream.String(d.str())}
	case keyEnc:
		enc := d.str()
		if s, ok := t.encs[enc]; ok || d.err != nil {
			return orMinus(s, ok)
		}
		s := t.alloc(keyEnc)
		t.sk[s] = enc
		t.encs[enc] = s
		return s
	default:
		d.fail("bad key kind")
	}
	if d.err != nil {
		return -1
	}
	s, _ := t.find(vals, true)
	return s
}

// keyed reports whether the first n key fields of ev have values; if one
// is null, the event cannot be keyed (it would share a null key with every
// other such event, a silently wrong result): it goes to the dead letter,
// with its fields as raw text, and counts in Stats.Rejected.
func keyed(k *keyFields, n int, ev *stream.Event, out *stream.Emitter, st *Stats, kind, name string) bool {
	vals := k.values(ev)
	for i := 0; i < n && i < len(vals); i++ {
		if vals[i].IsNull() {
			st.Rejected++
			out.DeadLetter(stream.EventReject(ev, kind+" "+name+": key field "+k.names[i]+" is null"))
			return false
		}
	}
	return true
}
