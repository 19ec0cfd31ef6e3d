package window

import (
	"fmt"

	"github.com/rulestream/rulestream/stream"
)

// Keyed state in two flat tables (ints: keys of one or two ints; other:
// keyed by a slot of a keyTable), as Sequence, NewValue and DistinctCounter
// hold it, checkpoints a 'k' entry per key, tracked by a keyDelta: the
// operator marks a key whose entry it changes (dirty) and records an other
// key by its bytes before it leaves the keyTable (removed).

// dirty marks the key (a, b) of tab, one of the operator's ints and other.
func (k *keyDelta) dirty(tab, ints *flatTable, a, b int64) {
	if k == nil {
		return
	}
	if tab == ints {
		k.int2(a, b)
	} else {
		k.slot(int32(a))
	}
}

// removed records that the entry en of tab is about to be removed, with its
// interned key (of keys) when tab is not ints.
func (k *keyDelta) removed(tab, ints *flatTable, keys *keyTable, en []int64) {
	if k == nil {
		return
	}
	if tab == ints {
		k.int2(en[fKeyA], en[fKeyB])
	} else {
		k.freed(entKey, keys, int32(en[fKeyA]))
	}
}

// flatDelta adds to d the 'k' entries of the keys dk marked since the last
// call (of every key when d.Full); val encodes a key's state. It returns
// the tracking to go on with (a new one when d.Full).
func flatDelta(d *stream.DeltaPart, dk *keyDelta, ints, other *flatTable, keys *keyTable, val func(e *encoder, en []int64)) *keyDelta {
	put := func(tab *flatTable, en []int64) {
		k := &encoder{b: []byte{entKey}}
		writeFlatKey(k, keys, tab == other, en[fKeyA], en[fKeyB])
		e := &encoder{}
		val(e, en)
		d.Put(k.b, e.b)
	}
	if d.Full {
		for _, tab := range [2]*flatTable{ints, other} {
			tab.each(func(en []int64) { put(tab, en) })
		}
		return newKeyDelta()
	}
	for s := range dk.slots {
		if p, ok := other.find(int64(s), 0); ok {
			put(other, other.at(p))
		}
	}
	for k := range dk.ints {
		if p, ok := ints.find(k[0], k[1]); ok {
			put(ints, ints.at(p))
		} else {
			d.Del(intsKey(entKey, k[0], k[1]))
		}
	}
	for _, k := range dk.gone {
		d.Del(k)
	}
	clear(dk.slots)
	clear(dk.ints)
	dk.gone = dk.gone[:0]
	return dk
}

// readFlatKey reads the key of a 'k' entry: ints' (a, b), or other's slot
// of keys (interned).
func readFlatKey(key []byte, ints, other *flatTable, keys *keyTable) (tab *flatTable, a, b int64, err error) {
	kd := &decoder{b: key, off: 1}
	tab, a, b = readFlatKeyAt(kd, ints, other, keys)
	return tab, a, b, kd.finish()
}

// restoreKeyed reads the 'k' entries with key and the 'e' entries into x
// (an operator without Early, x nil, refuses them); it returns the number
// of 'k' entries.
func restoreKeyed(entries []stream.KV, byHash map[uint64]*stream.Schema, x *early, op string, key func(kv stream.KV) error) (int, error) {
	n := 0
	for _, kv := range entries {
		if len(kv.Key) < 2 {
			continue
		}
		var err error
		switch kv.Key[0] {
		case entKey:
			n++
			err = key(kv)
		case entEarly:
			if x == nil {
				return 0, fmt.Errorf("%w: %s: early bookkeeping in a checkpoint of an operator without Early", ErrCorrupt, op)
			}
			err = x.restoreKey(kv, byHash)
		}
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// earlyFull reports whether the early bookkeeping x needs a Full delta
// (never taken, or reset).
func earlyFull(x *early) bool { return x != nil && (x.dl == nil || x.dl.reset) }

// flatOp is what the incremental checkpoint of an operator with a pending
// buffer, keyed state in two flat tables and, in Early mode, early
// bookkeeping touches: CountWithin, Sequence, NewValue and DistinctCounter
// each hand theirs over (their flat method).
type flatOp struct {
	buf         *pending
	ds          *deltaSchemas
	dk          **keyDelta
	ints, other *flatTable
	keys        *keyTable
	early       *early                                       // nil without Early
	encodeKey   func(e *encoder, en []int64)                 // a key's state
	decodeKey   func(d *decoder, tab *flatTable, a, b int64) // into a new entry
}

// snapshotDelta adds the buffer's, the keys' and the early bookkeeping's
// changes to d, every entry when d.Full or when a structure was reset (d is
// then made Full).
func (f flatOp) snapshotDelta(d *stream.DeltaPart) {
	if *f.dk == nil || (*f.dk).reset || earlyFull(f.early) {
		d.Full = true
	}
	if d.Full {
		f.ds.full()
	}
	f.buf.deltaOf(d, f.ds)
	*f.dk = flatDelta(d, *f.dk, f.ints, f.other, f.keys, f.encodeKey)
	if f.early != nil {
		f.early.deltaOf(d, f.ds)
	}
	f.ds.flush(d)
}

// restoreDelta fills f, a fresh operator's, from entries: the buffer (its
// events sharing the schemas known, deduplicated by the field dedup), the
// keys and the early bookkeeping (op names the operator in errors); the
// tracking starts. It returns the number of keys.
func (f flatOp) restoreDelta(entries []stream.KV, known []*stream.Schema, dedup, op string) (int, error) {
	byHash, err := f.buf.restoreDelta(entries, known, dedup)
	if err != nil {
		return 0, err
	}
	keys, err := restoreKeyed(entries, byHash, f.early, op, func(kv stream.KV) error {
		tab, a, b, err := readFlatKey(kv.Key, f.ints, f.other, f.keys)
		if err != nil {
			return err
		}
		d := &decoder{b: kv.Value}
		f.decodeKey(d, tab, a, b)
		return d.finish()
	})
	if err != nil {
		return 0, err
	}
	*f.dk = newKeyDelta()
	if f.early != nil {
		f.early.dl = newKeyDelta()
	}
	f.ds.restored(byHash)
	return keys, nil
}
