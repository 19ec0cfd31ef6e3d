package window

import (
	"cmp"
	"slices"
)

// The keyed state of CountWithin, Sequence, NewValue and DistinctCounter:
// two flat tables, ints (keys of one or two ints, (a, b)) and other (keyed
// by a slot of a keyTable). Their snapshots write every key the same way,
// with its state as the operator encodes it.

// encodeFlat writes the count of keys, then each key and its state (val),
// in a deterministic order: by last time, int keys first, then by key.
func encodeFlat(e *encoder, ints, other *flatTable, keys *keyTable, val func(e *encoder, en []int64)) {
	type flatKey struct {
		other bool
		a, b  int64
		e     []int64
	}
	ks := make([]flatKey, 0, ints.n+other.n)
	for i, tab := range [2]*flatTable{ints, other} {
		tab.each(func(en []int64) { ks = append(ks, flatKey{i == 1, en[fKeyA], en[fKeyB], en}) })
	}
	slices.SortFunc(ks, func(x, y flatKey) int {
		if c := cmp.Compare(x.e[fLast], y.e[fLast]); c != 0 {
			return c
		}
		if x.other != y.other {
			if x.other {
				return 1
			}
			return -1
		}
		if x.other {
			return keys.compare(int32(x.a), int32(y.a))
		}
		return cmp.Or(cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b))
	})
	e.uv(uint64(len(ks)))
	for _, k := range ks {
		writeFlatKey(e, keys, k.other, k.a, k.b)
		val(e, k.e)
	}
}

// writeFlatKey writes a key: other's slot a of keys, or ints' (a, b).
func writeFlatKey(e *encoder, keys *keyTable, other bool, a, b int64) {
	if other {
		keys.writeKey(e, int32(a))
		return
	}
	e.u8(keyInts)
	e.iv(a)
	e.iv(b)
}

// readFlatKeyAt reads what writeFlatKey wrote: the table and the key in it
// (other's slot of keys, interned).
func readFlatKeyAt(d *decoder, ints, other *flatTable, keys *keyTable) (tab *flatTable, a, b int64) {
	if d.off < len(d.b) && d.b[d.off] == keyInts {
		d.u8()
		return ints, d.iv(), d.iv()
	}
	return other, int64(keys.readKey(d)), 0
}

// decodeFlat reads n keys as encodeFlat wrote them (after their count),
// each state into a new entry (val), until the first error.
func decodeFlat(d *decoder, n int, ints, other *flatTable, keys *keyTable, val func(d *decoder, tab *flatTable, a, b int64)) {
	for i := 0; i < n && d.err == nil; i++ {
		tab, a, b := readFlatKeyAt(d, ints, other, keys)
		val(d, tab, a, b)
	}
}
