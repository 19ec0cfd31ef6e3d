package window

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"slices"

	"github.com/rulestream/rulestream/stream"
)

// Incremental checkpoints (stream.DeltaSnapshotter). An operator's state is
// cut into entries, each under a key of its own within the operator:
//
//	'b' seq       a buffered event (pending), by its arrival sequence
//	'k' key       a key's state (CountWithin: its last time and stored times;
//	              Sequence: its candidates; NewValue: a (key, value) pair's
//	              last time; DistinctCounter: its values; time and session
//	              windows: its live windows)
//	'e' key       a key's early bookkeeping (Early mode)
//	'i' pos       a remembered id (Dedup, time and session windows), by its
//	              position in the queue
//	'a' seq       a pending start (Absence), by its arrival sequence
//	's' hash      a schema the events above refer to, by a hash of its fields
//
// and the rest (watermark, counters) is the operator's base. Each
// structure tracks what changed since the last checkpoint once its first
// (Full) delta was taken: nothing is tracked, and nothing costs, in a
// pipeline that does not checkpoint incrementally.

// Entry key prefixes.
const (
	entBuffered = 'b'
	entKey      = 'k'
	entEarly    = 'e'
	entID       = 'i'
	entStart    = 'a'
	entSchema   = 's'
)

// schemaHash identifies a schema by its name and fields.
func schemaHash(s *stream.Schema) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s.Name()))
	for i := 0; i < s.Len(); i++ {
		f := s.Field(i)
		h.Write([]byte{0})
		h.Write([]byte(f.Name))
		h.Write([]byte{byte(f.Kind)})
	}
	return h.Sum64()
}

// deltaSchemas writes the schemas of events in entries as entries of their
// own, each once per checkpoint it is new to.
type deltaSchemas struct {
	hashes map[*stream.Schema]uint64
	put    map[uint64]bool // schemas whose entry the store holds
	fresh  []*stream.Schema
}

func (s *deltaSchemas) ref(sc *stream.Schema) uint64 {
	if s.hashes == nil {
		s.hashes, s.put = map[*stream.Schema]uint64{}, map[uint64]bool{}
	}
	h, ok := s.hashes[sc]
	if !ok {
		h = schemaHash(sc)
		s.hashes[sc] = h
	}
	if !s.put[h] {
		s.put[h] = true
		s.fresh = append(s.fresh, sc)
	}
	return h
}

// flush puts the entries of the schemas first referred to since the last
// flush.
func (s *deltaSchemas) flush(d *stream.DeltaPart) {
	for _, sc := range s.fresh {
		e := &encoder{}
		e.schema(&schemaTable{}, sc)
		d.Put(schemaKey(s.hashes[sc]), e.b)
	}
	s.fresh = s.fresh[:0]
}

// restored notes the schemas a restored store holds.
func (s *deltaSchemas) restored(byHash map[uint64]*stream.Schema) {
	for _, sc := range byHash {
		s.ref(sc)
	}
	s.fresh = s.fresh[:0]
}

// full forgets what the store held: the next references put their schemas
// again.
func (s *deltaSchemas) full() { clear(s.put) }

func schemaKey(h uint64) []byte { return binary.BigEndian.AppendUint64([]byte{entSchema}, h) }

// restoredSchemas reads the schema entries of a delta, matched to known.
func restoredSchemas(entries []stream.KV, known []*stream.Schema) (map[uint64]*stream.Schema, error) {
	m := map[uint64]*stream.Schema{}
	for _, kv := range entries {
		if len(kv.Key) != 9 || kv.Key[0] != entSchema {
			continue
		}
		d := &decoder{b: kv.Value}
		sc := d.schema(&schemaTable{known: known})
		if err := d.finish(); err != nil {
			return nil, err
		}
		m[binary.BigEndian.Uint64(kv.Key[1:])] = sc
	}
	return m, nil
}

// entryEncoder encodes one entry, events' schemas by hash.
func entryEncoder(s *deltaSchemas) (*encoder, *schemaTable) {
	return &encoder{}, &schemaTable{hashed: s}
}

// entryDecoder decodes one entry whose schemas are in byHash.
func entryDecoder(value []byte, byHash map[uint64]*stream.Schema) (*decoder, *schemaTable) {
	return &decoder{b: value}, &schemaTable{byHash: byHash}
}

// posKey is the key of entry kind k at position (sequence) n.
func posKey(k byte, n uint64) []byte { return binary.BigEndian.AppendUint64([]byte{k}, n) }

// pendingDelta tracks a pending buffer's events by arrival sequence.
type pendingDelta struct {
	seqs  []uint64 // the sequence of each buffered event (pending.evs)
	next  uint64   // the next event's
	saved uint64   // events below were put
	gone  []uint64 // put events released since
}

// deltaOf adds the buffer's change to d (all of it when d.Full, which
// starts the tracking).
func (p *pending) deltaOf(d *stream.DeltaPart, s *deltaSchemas) {
	if d.Full || p.dl == nil {
		p.dl = &pendingDelta{seqs: make([]uint64, len(p.evs))}
		for i := range p.dl.seqs {
			p.dl.seqs[i] = uint64(i)
		}
		p.dl.next = uint64(len(p.evs))
	} else {
		for _, n := range p.dl.gone {
			d.Del(posKey(entBuffered, n))
		}
	}
	from, _ := slices.BinarySearch(p.dl.seqs, p.dl.saved)
	if d.Full {
		from = 0
	}
	for i := from; i < len(p.evs); i++ {
		e, st := entryEncoder(s)
		e.event(st, &p.evs[i])
		d.Put(posKey(entBuffered, p.dl.seqs[i]), e.b)
	}
	p.dl.saved, p.dl.gone = p.dl.next, p.dl.gone[:0]
}

// restoreDelta replaces the buffer with the 'b' entries, in arrival order,
// their events sharing the schemas known (and deduplicated by the field
// dedup); it returns the delta's schemas, by hash.
func (p *pending) restoreDelta(entries []stream.KV, known []*stream.Schema, dedup string) (map[uint64]*stream.Schema, error) {
	byHash, err := restoredSchemas(entries, known)
	if err != nil {
		return nil, err
	}
	p.dedup.name, p.known = dedup, known
	type buffered struct {
		n uint64
		v []byte
	}
	var bs []buffered
	for _, kv := range entries {
		if len(kv.Key) == 9 && kv.Key[0] == entBuffered {
			bs = append(bs, buffered{binary.BigEndian.Uint64(kv.Key[1:]), kv.Value})
		}
	}
	slices.SortFunc(bs, func(a, b buffered) int { return cmp.Compare(a.n, b.n) })
	p.evs, p.dl = p.evs[:0], nil
	dl := &pendingDelta{seqs: make([]uint64, 0, len(bs))}
	for _, b := range bs {
		d, st := entryDecoder(b.v, byHash)
		ev := d.event(st)
		if err := d.finish(); err != nil {
			return nil, err
		}
		p.add(&ev)
		dl.seqs = append(dl.seqs, b.n)
		dl.next = b.n + 1
	}
	dl.saved, p.dl = dl.next, dl
	return byHash, nil
}

// keyDelta tracks the keys of a keyed structure whose state changed: by
// slot for keys interned in a keyTable, by value for int keys. A slot freed
// is recorded by its key, since the slot may hold another key by the next
// checkpoint.
type keyDelta struct {
	slots map[int32]struct{}
	ints  map[[2]int64]struct{}
	gone  [][]byte // keys (entry keys) removed
	reset bool     // every key went: the next delta is Full
}

func newKeyDelta() *keyDelta {
	return &keyDelta{slots: map[int32]struct{}{}, ints: map[[2]int64]struct{}{}}
}

func (k *keyDelta) slot(s int32) {
	if k != nil {
		k.slots[s] = struct{}{}
	}
}

func (k *keyDelta) int2(a, b int64) {
	if k != nil {
		k.ints[[2]int64{a, b}] = struct{}{}
	}
}

// freed records that slot s of t, about to be removed, is gone (entry kind
// kind).
func (k *keyDelta) freed(kind byte, t *keyTable, s int32) {
	if k == nil {
		return
	}
	delete(k.slots, s)
	k.gone = append(k.gone, slotKey(kind, t, s))
}

// slotKey is the entry key of kind for the key interned at slot s.
func slotKey(kind byte, t *keyTable, s int32) []byte {
	e := &encoder{b: []byte{kind}}
	t.writeKey(e, s)
	return e.b
}

// intsKey is the entry key of kind for an int key.
func intsKey(kind byte, a, b int64) []byte {
	e := &encoder{b: []byte{kind, keyInts}}
	e.iv(a)
	e.iv(b)
	return e.b
}
