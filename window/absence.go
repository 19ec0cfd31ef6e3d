package window

import (
	"context"
	"errors"
	"fmt"

	"github.com/rulestream/rulestream/stream"
)

// maxAbsenceStarts bounds MaxKeys × MaxMatches: the pending starts an
// Absence may hold, so that their positions fit 32 bits.
const maxAbsenceStarts = 1 << 30

func (c *AbsenceConfig) setDefaults() {
	c.PatternConfig.setDefaults()
	if c.MaxMatches <= 0 {
		c.MaxMatches = DefaultMaxMatches
	}
}

// Validate reports settings that cannot work. Zero bounds mean their
// defaults.
func (c AbsenceConfig) Validate() error {
	c.setDefaults()
	errs := c.check()
	if c.Start == nil {
		errs = append(errs, errors.New("Start is required"))
	}
	if c.End == nil {
		errs = append(errs, errors.New("End is required"))
	}
	if int64(c.MaxKeys)*int64(c.MaxMatches) > maxAbsenceStarts {
		errs = append(errs, fmt.Errorf("MaxKeys × MaxMatches must be at most %d (pending starts)", maxAbsenceStarts))
	}
	return configErr("absence "+c.Name, errs)
}

// Absence emits, per key, the events matching Start that no event matching
// End follows within Within (see AbsenceConfig): a cart with no purchase in
// the 30 minutes after it. Events are decided in event-time order (the
// deterministic tie-break of Order: time, dedup value, event key, position)
// once the watermark minus the allowed lateness has passed them, so the
// results do not depend on arrival order.
//
// In decision order, an event of a key that has pending starts is tested
// against End first: a match cancels all of them (each is at most Within
// before it, else it would have fired already, and precedes it in decision
// order: an end at the same time but earlier in that order does not cancel
// a start). Then an event matching Start becomes a pending start. End is
// evaluated only on events of keys with pending starts, Start on every
// event; a predicate's error (or panic) counts in Stats.Errors and is no
// match.
//
// A pending start fires when every event with time <= start + Within has
// been decided (the release point passes start + Within), at the final
// watermark at the latest. Results go out sorted by deadline, then by the
// starts' decision order. A result is a copy of the start event (Key, Pos,
// Schema, Fields, Joins) with Time = start + Within (its deadline) and
// Window set: Kind "absence", Key the key fields' text, Start = First =
// Last = the start's time, End = the deadline, Count 1. (Target and ID,
// which input events do not carry, are not kept.) The results of one call
// share their memory: one string holds their strings, one array their
// fields (each result's Fields has no room to grow into a neighbour's).
//
// State is the pending starts, whose events are packed into bytes held
// outside the garbage collector's view, and per key with pending starts a
// flat-table entry. A key whose last pending start fires goes (counted in
// Stats.Expired). MaxMatches bounds a key's pending starts and MaxKeys the
// keys; beyond them the oldest start, or the key whose latest start is
// oldest among 16 sampled, is dropped (Stats.Evictions), and logged at
// Warn at most once a minute.
type Absence struct {
	cfg     AbsenceConfig
	within  int64
	clk     clock
	buf     pending
	kf      keyFields
	keys    *keyTable  // interns keys that are not one or two ints
	ints    *flatTable // per key of one or two ints: its pending starts' count and chain
	other   *flatTable // the same for other keys, keyed by their keys slot
	recs    chunkFIFO[absRec]
	data    chunkFIFO[byte] // the records' events, packed, in the same order
	codec   evCodec
	alive   int // records that are pending starts (the others are dropped)
	scratch []byte
	vals    []stream.Value
	res     absResults
	pre     [prefetch]preKey
	sink    int64
	shed    shedRequest
	log     evictionLog
	stats   Stats
	pub     *published
	// Incremental checkpoints: the records' sequences and the schemas the
	// store holds (nil and empty before the first).
	dl *absDelta
	ds deltaSchemas
}

// absRec is a start in the queue, which holds them in decision order (also
// the order of their deadlines, Within being fixed). A key's pending starts
// are chained through next, from its entry's first to its last.
type absRec struct {
	t    int64  // the start's time; absDead once fired, cancelled or dropped
	next uint32 // low 32 bits of the position of its key's next pending start
	size uint32 // bytes of its packed event in data
}

const absDead = -1 << 63

// Entry words after the flat table's header: the positions (low 32 bits)
// of the key's first and last pending starts; the meta word's low bits
// count them.
const absChain = fHead

const (
	absRecShift  = 12 // 4096 records (64 KiB) per chunk
	absDataShift = 16 // 64 KiB per chunk
)

// NewAbsence returns an Absence operator.
func NewAbsence(cfg AbsenceConfig) (*Absence, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Absence{cfg: cfg, within: int64(cfg.Within), clk: newClock(), pub: &published{}}
	a.reset()
	a.clk.lateness = int64(cfg.AllowedLateness)
	a.buf.dedup.name = cfg.Dedup
	return a, nil
}

// reset empties the state (not the buffer, clock or counters).
func (a *Absence) reset() {
	a.kf = newKeyFields(a.cfg.KeyBy)
	a.keys = newKeyTable()
	a.ints, a.other = newFlat(absChain+1), newFlat(absChain+1)
	a.recs, a.data = newChunkFIFO[absRec](absRecShift), newChunkFIFO[byte](absDataShift)
	a.codec = newEvCodec()
	a.alive = 0
}

func (a *Absence) op() string { return "absence " + a.cfg.Name }

// Start takes the pipeline's allowed lateness if the config left it zero,
// refuses key and dedup fields the input schema lacks, and learns the
// pipeline's schemas (restored events share them) and logger.
func (a *Absence) Start(_ context.Context, env stream.Env) error {
	a.clk.lateness = int64(startLateness(a.cfg.AllowedLateness, env))
	a.buf.known = env.Schemas
	a.log = newEvictionLog(a.op(), env)
	return checkStart(a.op(), env, a.cfg.KeyBy, a.cfg.Dedup)
}

// Process buffers the events; events behind the cutoff go to the late
// output.
func (a *Absence) Process(_ context.Context, in []stream.Event, out *stream.Emitter) error {
	defer a.publish()
	if a.shed.due() {
		a.shedNow(out)
	}
	cut := a.clk.cutoff()
	for i := range in {
		if err := a.kf.check(&in[i], "absence", a.cfg.Name); err != nil {
			return err
		}
		if !keyed(&a.kf, len(a.cfg.KeyBy), &in[i], out, &a.stats, "absence", a.cfg.Name) {
			continue
		}
		if !inRange(&in[i], out, &a.stats, "absence", a.cfg.Name) {
			continue
		}
		if in[i].Time < cut {
			a.stats.Late++
			out.Late(in[i])
			continue
		}
		a.buf.add(&in[i])
	}
	if len(a.buf.evs) > a.cfg.MaxPending {
		rp := a.buf.cutHalf()
		n := len(a.buf.evs)
		a.decide(rp, false)
		a.stats.Evictions += int64(n - len(a.buf.evs))
		a.log.note(a.stats.Evictions, "events decided early (MaxPending)")
		a.clk.floor = max(a.clk.floor, rp)
		a.flush(out)
	}
	return nil
}

// Advance decides the events the watermark (minus lateness) has passed, in
// order, and fires the pending starts whose deadline it has passed (all of
// them at the final watermark).
func (a *Absence) Advance(_ context.Context, wm int64, out *stream.Emitter) error {
	defer a.publish()
	if a.shed.due() {
		a.shedNow(out)
	}
	if wm > a.clk.wm {
		a.clk.wm = wm
	}
	a.decide(a.clk.cutoff(), a.clk.wm == stream.MaxWatermark)
	a.flush(out)
	return nil
}

// Shed asks the operator to drop a fraction (0 < fraction <= 1) of its
// state at the start of its next Process or Advance call (stream.Shedder,
// for the pipeline's memory budget): first the oldest ceil(fraction × n)
// of its n buffered events are decided early, as when MaxPending is
// exceeded (the starts whose deadline that passes fire in that call;
// events older than those become late), then ceil(fraction × k) of the k
// keys it then holds are evicted as MaxKeys evicts them (the key whose
// latest start is oldest among 16 sampled, one at a time) with their
// pending starts, which then never fire: an absence under way for such a
// key is not reported. Both count in Stats.Evictions and are logged at
// Warn at most once a minute.
func (a *Absence) Shed(fraction float64) { a.shed.ask(fraction) }

// shedNow applies the Shed request.
func (a *Absence) shedNow(out *stream.Emitter) {
	f := a.shed.take()
	if k := shedCount(f, len(a.buf.evs)); k > 0 {
		rp := a.buf.cut(k)
		n := len(a.buf.evs)
		a.decide(rp, false)
		a.stats.Evictions += int64(n - len(a.buf.evs))
		a.clk.floor = max(a.clk.floor, rp)
		a.flush(out)
	}
	for range shedCount(f, a.live()) {
		a.dropOldest()
	}
	a.compactQueue() // the dropped starts' memory goes now, not when they reach the front
	a.log.note(a.stats.Evictions, shedWhat)
}

// decide applies the buffered events before rp in decision order, firing
// the starts whose deadline each event passes before it, then those rp
// passes.
func (a *Absence) decide(rp int64, all bool) {
	order, dups := a.buf.take(rp, all)
	a.stats.Duplicates += dups
	for k := 0; k < len(order); k += prefetch {
		part := order[k:min(k+prefetch, len(order))]
		a.touch(part)
		for j, i := range part {
			ev := &a.buf.evs[i]
			a.fire(ev.Time, false)
			a.step(ev, &a.pre[j])
		}
	}
	a.buf.compact(rp, all)
	a.fire(rp, all)
	a.compactQueue()
}

// touch computes the int key of each event and loads its home entry ahead,
// as CountWithin does: independent cache misses overlap.
func (a *Absence) touch(order []int32) {
	w := a.ints.w
	for j, i := range order {
		vals := a.kf.values(&a.buf.evs[i])
		pk := &a.pre[j]
		pk.home = -1
		if pk.ok = classify(vals) == keyInts; !pk.ok {
			continue
		}
		pk.a, pk.b = vals[0].Int(), 0
		if len(vals) > 1 {
			pk.b = vals[1].Int()
		}
		pk.home = int(a.ints.home(pk.a, pk.b)) * a.ints.width
	}
	var sink int64
	last := a.ints.width - 1
	for j := range order {
		if h := a.pre[j].home; h >= 0 {
			sink += w[h] + w[h+last]
		}
	}
	a.sink += sink
}

// step applies one event in decision order; pk is its key if it is ints.
func (a *Absence) step(ev *stream.Event, pk *preKey) {
	tab, ka, kb := a.ints, pk.a, pk.b
	var vals []stream.Value
	found, p := false, uint64(0)
	if !pk.ok {
		vals = a.kf.values(ev)
		tab = a.other
		s, _ := a.keys.find(vals, false)
		ka, kb = int64(s), 0
		if s >= 0 {
			p, found = tab.find(ka, kb)
		}
	} else {
		p, found = tab.find(ka, kb)
	}
	if found && a.test(a.cfg.End, ev) {
		a.dropKey(tab, p) // every pending start of the key is cancelled
		found = false
	}
	if !a.test(a.cfg.Start, ev) {
		return
	}
	a.scratch = a.codec.encode(a.scratch[:0], ev)
	if len(a.scratch) > 1<<32-1 {
		a.stats.Errors++ // an event of over 4 GiB: not kept
		return
	}
	if !found {
		if a.live() >= a.cfg.MaxKeys {
			a.evictOne()
		}
		if !pk.ok {
			s, _ := a.keys.find(vals, true)
			ka = int64(s)
		}
		p, _ = tab.find(ka, kb) // entries may have moved
		p = tab.insert(p, ka, kb)
	}
	a.addStart(tab.at(p), ev.Time)
}

// test evaluates a predicate; an error or a panic counts and is no match.
func (a *Absence) test(pred Predicate, ev *stream.Event) (ok bool) {
	defer func() {
		if recover() != nil {
			a.stats.Errors++
			ok = false
		}
	}()
	ok, err := pred(ev)
	if err != nil {
		a.stats.Errors++
		return false
	}
	return ok
}

func packChain(first, last uint32) int64 { return int64(uint64(first) | uint64(last)<<32) }
func unpackChain(w int64) (first, last uint32) {
	return uint32(uint64(w)), uint32(uint64(w) >> 32)
}

// pos returns the absolute queue position of a record from its low 32 bits.
func (a *Absence) pos(low uint32) uint64 {
	return a.recs.head + uint64(low-uint32(a.recs.head))
}

// addStart queues the start packed in a.scratch at time t and chains it to
// the key's entry e, dropping the key's oldest beyond MaxMatches.
func (a *Absence) addStart(e []int64, t int64) {
	at := a.recs.tail
	a.recs.push(absRec{t: t, size: uint32(len(a.scratch))})
	a.data.pushAll(a.scratch)
	if a.dl != nil {
		a.dl.seqs.push(a.dl.next)
		a.dl.next++
	}
	a.alive++
	n := int(e[fMeta] & metaLow)
	if n == 0 {
		e[absChain] = packChain(uint32(at), uint32(at))
	} else {
		first, last := unpackChain(e[absChain])
		a.recs.at(a.pos(last)).next = uint32(at)
		e[absChain] = packChain(first, uint32(at))
	}
	n++
	e[fLast] = t
	if n > a.cfg.MaxMatches {
		first, last := unpackChain(e[absChain])
		a.died(a.pos(first))
		r := a.recs.at(a.pos(first))
		r.t = absDead
		e[absChain] = packChain(r.next, last)
		a.alive--
		n--
		a.stats.Evictions++
		a.log.note(a.stats.Evictions, "pending starts dropped (MaxMatches)")
	}
	setLow(e, int64(n))
}

// dropKey drops the entry at p and its pending starts.
func (a *Absence) dropKey(tab *flatTable, p uint64) {
	e := tab.at(p)
	n := int(e[fMeta] & metaLow)
	first, _ := unpackChain(e[absChain])
	for range n {
		a.died(a.pos(first))
		r := a.recs.at(a.pos(first))
		first = r.next
		r.t = absDead
	}
	a.alive -= n
	if tab == a.other {
		a.keys.remove(int32(e[fKeyA]))
	}
	tab.del(p)
}

func (a *Absence) live() int { return a.ints.n + a.other.n }

// evictOne drops, among the next 16 keys at the table's cursor, the one
// whose latest start is oldest (sampled least recently used), with its
// pending starts, and logs it.
func (a *Absence) evictOne() {
	a.dropOldest()
	a.log.note(a.stats.Evictions, "keys evicted (MaxKeys)")
}

// dropOldest is evictOne without the log.
func (a *Absence) dropOldest() {
	tab := a.ints
	if tab.n == 0 {
		tab = a.other
	}
	if tab.n == 0 {
		return
	}
	best, seen := uint64(0), 0
	for p := tab.cursor; seen < 16 && seen < tab.n; p = (p + 1) & tab.mask {
		if tab.used(p) {
			if seen == 0 || tab.at(p)[fLast] < tab.at(best)[fLast] {
				best = p
			}
			seen++
		}
	}
	tab.cursor = (best + 1) & tab.mask
	a.dropKey(tab, best)
	a.stats.Evictions++
}

// Stats returns the counters as of the end of the last call; safe to call
// from any goroutine.
func (a *Absence) Stats() Stats { return a.pub.get() }

func (a *Absence) publish() {
	s := a.stats
	s.ActiveKeys = int64(a.live())
	s.Pending = int64(len(a.buf.evs))
	a.pub.set(s)
}
