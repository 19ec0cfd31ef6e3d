package window

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// early is the bookkeeping of Early mode (see the package doc, "Early
// results"), shared by CountWithin, Sequence, DistinctCounter and NewValue:
// per key, the events that have arrived and are neither claimed by an
// early result nor consumed by an event-time match (the pool), in decision
// order; the claimed ones still undecided, so that their duplicates are
// known, and among them the completing events of early results, whose
// event-time decision is still to come (held). Each operator runs its own
// matcher over the pool on arrival; the event-time decision stays the
// operator's own and asks settle whether its result already went out.
//
// An undecided entry holds a copy of its event in a slab (the buffer holds
// the other); once the release point passes it, only its time (and what
// the matcher reads) is kept, until the release point is more than Within
// past it. Keys are bounded by MaxKeys and entries by MaxPending: beyond
// either, the key whose newest event is oldest among 16 sampled loses its
// early bookkeeping (counted in Stats.Evictions).
type early struct {
	within int64
	keepEv bool // decided entries keep their event (a sequence's steps need their fields)
	claims bool // a match claims the events up to its completing one (not with overlap, nor for new_value)
	dedup  fieldRef
	kf     keyFields
	keys   *keyTable // interns the keys (for new_value, the key and value pairs)
	ks     []ekey    // by keys slot
	evs    evSlab
	vals   *valueTable // distinct_count: the pool entries' values, interned (aux)
	held   int         // pool and held entries of every key
	cursor int32       // of the sweep and of eviction sampling
	since  int         // arrivals since the last sweep
	// Bounds: keys and entries.
	maxKeys, maxHeld int
	dl               *keyDelta // incremental checkpoints' tracking, nil before the first
}

// eent is an arrived event held in a key's pool.
type eent struct {
	t     int64
	aux   uint64 // sequence: the steps it matches; with values: its value's slot in vals
	ev    int32  // slab slot of its event, or -1 once decided (without keepEv)
	fired bool   // without claims: an early result it completes went out
}

// eref is an event claimed by an early result, still undecided.
type eref struct {
	t     int64
	ev    int32 // slab slot of its event
	fired bool  // the completing event of the early result
}

// ekey is one key's early bookkeeping.
type ekey struct {
	pool []eent // in decision order
	held []eref // by time
	last int64  // newest event time seen
	next int64  // prune has work once the release point passes this
	dec  int32  // leading pool entries already without their event
}

func newEarly(keyBy []string, dedup string, within time.Duration, maxKeys, maxHeld int, keepEv, claims bool) *early {
	return &early{within: int64(within), keepEv: keepEv, claims: claims, dedup: fieldRef{name: dedup},
		kf: newKeyFields(keyBy), keys: newKeyTable(), maxKeys: maxKeys, maxHeld: maxHeld}
}

// fresh returns an empty early of the same settings.
func (x *early) fresh() *early {
	n := newEarly(x.kf.names, x.dedup.name, time.Duration(x.within), x.maxKeys, x.maxHeld, x.keepEv, x.claims)
	if x.vals != nil {
		n.withValues()
	}
	return n
}

// withValues makes the pool entries hold values (a distinct count's).
func (x *early) withValues() *early {
	v := newValueTable()
	x.vals = &v
	return x
}

func (x *early) live(s int32) bool { return x.keys.kind[s] != keyFree }

func (x *early) ev(i int32) *stream.Event { return x.evs.get(i) }

// same reports whether a and b are one event (deliveries of it): equal
// times and dedup values, or without a dedup value equal positions.
func (x *early) same(a, b *stream.Event) bool {
	if a.Time != b.Time {
		return false
	}
	ia, ib := x.dedup.get(a), x.dedup.get(b)
	if !ia.IsNull() || !ib.IsNull() {
		return ia.Equal(ib)
	}
	return a.Pos == b.Pos
}

// order is the decision order of two events (pending's: time, dedup
// value, key, position).
func (x *early) order(a, b *stream.Event) int {
	if c := cmp.Compare(a.Time, b.Time); c != 0 {
		return c
	}
	if c := cmpValue(x.dedup.get(a), x.dedup.get(b)); c != 0 {
		return c
	}
	return cmp.Or(strings.Compare(a.Key, b.Key), cmpPos(a.Pos, b.Pos))
}

// cmpEv orders a pool entry and an event in decision order. An entry
// without its event was decided, so its time differs from any undecided
// event's.
func (x *early) cmpEv(e *eent, ev *stream.Event) int {
	if e.ev < 0 || e.t != ev.Time {
		return cmp.Compare(e.t, ev.Time)
	}
	return x.order(x.ev(e.ev), ev)
}

// lower returns the index of the first pool entry at or after t.
func lower(pool []eent, t int64) int {
	lo, hi := 0, len(pool)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if pool[m].t < t {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// slotOf returns the slot of ev's key, or -1.
func (x *early) slotOf(ev *stream.Event) int32 {
	s, _ := x.keys.find(x.kf.values(ev), false)
	return s
}

// arrive adds an accepted event to its key's pool and returns the key's
// slot and the entry's index; ok is false for a delivery of an event
// already held (by its dedup value) and when the bounds leave no room for
// it. aux is the matcher's data; with vals, v is the event's value, held
// in vals (aux: its slot). cut is the operator's cutoff: no event before it
// is undecided.
func (x *early) arrive(ev *stream.Event, aux uint64, v stream.Value, cut int64, st *Stats) (s int32, i int, ok bool) {
	s, created := x.keys.find(x.kf.values(ev), true)
	x.dl.slot(s)
	if created {
		for int(s) >= len(x.ks) {
			x.ks = append(x.ks, ekey{})
		}
		x.ks[s].last, x.ks[s].next = ev.Time, math.MaxInt64
		if x.keys.live > x.maxKeys {
			x.evict(st, s)
		}
	} else if x.ks[s].next <= cut {
		x.prune(s, cut)
	}
	k := &x.ks[s]
	if x.dup(k, ev) {
		return s, 0, false
	}
	if x.vals != nil {
		aux = uint64(x.vals.hold(v))
	}
	slot := x.evs.put(ev)
	c := x.ev(slot)
	i = len(k.pool)
	if i > 0 && x.cmpEv(&k.pool[i-1], c) > 0 {
		lo, hi := 0, i
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if x.cmpEv(&k.pool[m], c) <= 0 {
				lo = m + 1
			} else {
				hi = m
			}
		}
		i = lo
	}
	if k.pool == nil {
		k.pool = make([]eent, 0, 4) // a key's first event: room for a few
	}
	k.pool = slices.Insert(k.pool, i, eent{t: ev.Time, aux: aux, ev: slot})
	k.last = max(k.last, ev.Time)
	x.schedule(k)
	x.held++
	x.since++
	for x.held > x.maxHeld && x.keys.live > 1 {
		x.evict(st, s)
	}
	if x.held > x.maxHeld { // this key alone holds too much
		x.free(s)
		st.Evictions++
		return s, 0, false
	}
	return s, i, true
}

// dup reports whether ev is a delivery of an event the key holds
// undecided, in its pool or claimed (only with a dedup value: without
// one, deliveries are distinct events, as for the buffer).
func (x *early) dup(k *ekey, ev *stream.Event) bool {
	if x.dedup.name == "" || x.dedup.get(ev).IsNull() {
		return false
	}
	for j := lower(k.pool, ev.Time); j < len(k.pool) && k.pool[j].t == ev.Time; j++ {
		if e := &k.pool[j]; e.ev >= 0 && x.same(x.ev(e.ev), ev) {
			return true
		}
	}
	for j := heldAt(k.held, ev.Time); j < len(k.held) && k.held[j].t == ev.Time; j++ {
		if x.same(x.ev(k.held[j].ev), ev) {
			return true
		}
	}
	return false
}

// heldAt returns the index of the first held entry at or after t.
func heldAt(held []eref, t int64) int {
	i, _ := slices.BinarySearchFunc(held, t, func(h eref, t int64) int { return cmp.Compare(h.t, t) })
	return i
}

// schedule sets the lowest release point at which prune has work: a pool
// entry falls more than Within behind it, or an event becomes decided.
func (x *early) schedule(k *ekey) {
	n := int64(math.MaxInt64)
	if len(k.pool) > 0 {
		n = add(add(k.pool[0].t, x.within), 1)
		if !x.keepEv && int(k.dec) < len(k.pool) {
			n = min(n, k.pool[k.dec].t+1)
		}
	}
	if len(k.held) > 0 {
		n = min(n, k.held[0].t+1)
	}
	k.next = n
}

// prune drops what the release point cut makes useless: pool entries more
// than Within before it (no event to come can match with them), the events
// of decided entries, and claimed entries before it (their duplicates are
// late; their decisions are taken).
func (x *early) prune(s int32, cut int64) {
	x.dl.slot(s)
	k := &x.ks[s]
	if n := lower(k.pool, sub(cut, x.within)); n > 0 {
		x.dropFront(k, n)
	}
	if !x.keepEv {
		for ; int(k.dec) < len(k.pool) && k.pool[k.dec].t < cut; k.dec++ {
			if e := &k.pool[k.dec]; e.ev >= 0 {
				x.evs.drop(e.ev)
				e.ev = -1
			}
		}
	}
	n := 0
	for n < len(k.held) && k.held[n].t < cut {
		x.evs.drop(k.held[n].ev)
		n++
	}
	if n > 0 {
		m := copy(k.held, k.held[n:])
		clear(k.held[m:])
		k.held = k.held[:m]
		x.held -= n
	}
	x.schedule(k)
}

// dropFront removes the first n pool entries of k.
func (x *early) dropFront(k *ekey, n int) {
	for i := range n {
		e := &k.pool[i]
		if e.ev >= 0 {
			x.evs.drop(e.ev)
		}
		if x.vals != nil {
			x.vals.release(int32(e.aux))
		}
	}
	m := copy(k.pool, k.pool[n:])
	clear(k.pool[m:])
	k.pool = k.pool[:m]
	k.dec = int32(max(int(k.dec)-n, 0))
	x.held -= n
}

func (k *ekey) empty() bool { return len(k.pool) == 0 && len(k.held) == 0 }

// free drops a key's bookkeeping (keeping its slices' memory for the next
// key of the slot).
func (x *early) free(s int32) {
	k := &x.ks[s]
	x.dropFront(k, len(k.pool))
	for _, h := range k.held {
		x.evs.drop(h.ev)
	}
	x.held -= len(k.held)
	clear(k.held)
	*k = ekey{pool: k.pool[:0], held: k.held[:0]}
	x.dl.freed(entEarly, x.keys, s)
	x.keys.remove(s)
}

// evict frees, among the next 16 keys at the cursor, the one whose newest
// event is oldest (not keep), counted in Stats.Evictions: its early
// results may then be emitted again at the watermark, as corrections.
func (x *early) evict(st *Stats, keep int32) {
	n := int32(len(x.ks))
	best, seen := int32(-1), 0
	for p, visited := x.cursor%max(n, 1), int32(0); seen < 16 && visited < n; p, visited = (p+1)%n, visited+1 {
		if p == keep || !x.live(p) {
			continue
		}
		if best < 0 || x.ks[p].last < x.ks[best].last {
			best = p
		}
		seen++
	}
	if best < 0 {
		return
	}
	x.cursor = (best + 1) % n
	x.free(best)
	st.Evictions++
}

// shed drops ceil(fraction × k) of the k keys, as evict chooses them.
func (x *early) shed(fraction float64, st *Stats) {
	for range shedCount(fraction, x.keys.live) {
		x.evict(st, -1)
	}
}

// fire records that an early result completed by pool entry j of key s
// went out. With claims, claim must follow.
func (x *early) fire(s int32, j int) {
	x.dl.slot(s)
	x.ks[s].pool[j].fired = true
}

// claim removes the pool entries up to index j of key s (a match
// consumes every event up to its completing one: skip past last event),
// keeping the undecided ones that the dedup field tells apart, and the
// fired one, as held.
func (x *early) claim(s int32, j int, cut int64) {
	x.dl.slot(s)
	k := &x.ks[s]
	for i := range j + 1 {
		e := &k.pool[i]
		if e.ev < 0 || e.t < cut || !e.fired && (x.dedup.name == "" || x.dedup.get(x.ev(e.ev)).IsNull()) {
			continue
		}
		p := len(k.held)
		for p > 0 && k.held[p-1].t > e.t {
			p--
		}
		k.held = slices.Insert(k.held, p, eref{t: e.t, ev: e.ev, fired: e.fired})
		e.ev = -1 // now the held entry's
		x.held++
	}
	x.dropFront(k, j+1)
	x.schedule(k)
}

// settle is called by the event-time decision with each result's
// completing event ev: it reports whether an early result had that
// completing event (then ev's result is not emitted again). With claims,
// the match consumes the key's events up to ev: they leave the pool.
func (x *early) settle(ev *stream.Event) bool {
	s := x.slotOf(ev)
	if s < 0 {
		return false
	}
	x.dl.slot(s)
	k := &x.ks[s]
	if !x.claims {
		for j := lower(k.pool, ev.Time); j < len(k.pool) && k.pool[j].t == ev.Time; j++ {
			if e := &k.pool[j]; e.fired && e.ev >= 0 && x.same(x.ev(e.ev), ev) {
				e.fired = false
				return true
			}
		}
		return false
	}
	n := 0
	for ; n < len(k.pool); n++ {
		e := &k.pool[n]
		if x.cmpEv(e, ev) > 0 && !(e.ev >= 0 && x.same(x.ev(e.ev), ev)) {
			break // after ev, and not another delivery of it
		}
	}
	if n > 0 {
		x.dropFront(k, n)
		x.schedule(k)
	}
	for j := heldAt(k.held, ev.Time); j < len(k.held) && k.held[j].t == ev.Time; j++ {
		if h := &k.held[j]; h.fired && x.same(x.ev(h.ev), ev) {
			h.fired = false
			return true
		}
	}
	return false
}

// sweep prunes keys from the cursor, in proportion to the events that
// arrived since the last sweep, and frees those left empty; after the final
// watermark (all), everything goes.
func (x *early) sweep(cut int64, all bool) {
	if all {
		dl := x.dl
		*x = *x.fresh()
		if x.dl = dl; dl != nil {
			dl.reset = true
		}
		return
	}
	n := int32(len(x.ks))
	budget := 2*x.since + 64 + int(n)/256
	x.since = 0
	for ; budget > 0 && x.keys.live > 0; budget-- {
		p := x.cursor % n
		x.cursor = (p + 1) % n
		if !x.live(p) || x.ks[p].next > cut {
			continue
		}
		x.prune(p, cut)
		if x.ks[p].empty() {
			x.free(p)
		}
	}
}

// evSlab holds copies of events in pages, reusing freed slots.
type evSlab struct {
	pages [][]stream.Event
	n     int32 // slots ever used
	free  []int32
}

const evPage = 1 << 10

func (h *evSlab) put(ev *stream.Event) int32 {
	var i int32
	if n := len(h.free); n > 0 {
		i = h.free[n-1]
		h.free = h.free[:n-1]
	} else {
		if int(h.n) == len(h.pages)*evPage {
			h.pages = append(h.pages, make([]stream.Event, evPage))
		}
		i = h.n
		h.n++
	}
	h.pages[i/evPage][i%evPage] = *ev
	return i
}

func (h *evSlab) get(i int32) *stream.Event { return &h.pages[i/evPage][i%evPage] }

func (h *evSlab) drop(i int32) {
	h.pages[i/evPage][i%evPage] = stream.Event{}
	h.free = append(h.free, i)
}
