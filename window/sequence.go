package window

import (
	"context"
	"errors"

	"github.com/rulestream/rulestream/stream"
)

// Bounds on a sequence's settings, so that its state fits its words.
const (
	maxSeqSteps   = 1024
	maxSeqMatches = 1 << 15
	maxSeqKeys    = 1 << 30
)

func (c *SequenceConfig) setDefaults() {
	c.PatternConfig.setDefaults()
	if c.MaxMatches <= 0 {
		c.MaxMatches = DefaultMaxMatches
	}
}

// Validate reports settings that cannot work: those of PatternConfig, fewer
// than two steps (or more than 1024), a nil step, MaxMatches above 32768,
// MaxKeys above 2^30, more than 64 steps with Early.
func (c SequenceConfig) Validate() error {
	errs := c.PatternConfig.check()
	if len(c.Steps) < 2 || len(c.Steps) > maxSeqSteps {
		errs = append(errs, errors.New("Steps needs between 2 and 1024 conditions"))
	}
	for _, p := range c.Steps {
		if p == nil {
			errs = append(errs, errors.New("a step's Predicate is nil"))
			break
		}
	}
	if c.MaxMatches > maxSeqMatches {
		errs = append(errs, errors.New("MaxMatches must be at most 32768"))
	}
	if c.MaxKeys > maxSeqKeys {
		errs = append(errs, errors.New("MaxKeys must be at most 2^30"))
	}
	if c.Early && len(c.Steps) > maxEarlySteps {
		errs = append(errs, errors.New("Early needs at most 64 Steps"))
	}
	return configErr("sequence "+c.Name, errs)
}

// Sequence emits a result when, per key, events matching the steps occur
// in order within Within (see SequenceConfig for the exact rule). Events
// are decided in decision order once the watermark minus the allowed
// lateness has passed them, so the results do not depend on arrival order.
//
// # Patterns
//
// A sequence ("A then B within 10 min") keeps, per key, its candidate
// matches: each started by an event matching the first step, taking for
// each later step the first later event that matches it. An event may
// advance several candidates at once. When one completes, the
// earliest-started completed candidate is reported and every candidate of
// the key is dropped: the next match starts after its last event (Flink
// CEP's skip-past-last-event). A candidate whose first event lies more than
// Within before the event being decided is dropped, and a key goes when
// none of its candidates can complete anymore (the release point is more
// than Within past its newest start). A predicate's error (or panic)
// counts in Stats.Errors and does not match.
//
// The result is a copy of the completing event (its Key, Time, Pos,
// Schema, Fields and Joins) with Window set: Name, Kind KindSequence, Key
// (the key values' text joined with '|'), Start = First = the first
// event's time, End = Last = the completing event's time, Count = the
// number of steps and Steps = the matched events (time and fields) in step
// order.
//
// State per key: a table entry of 4 words, and per candidate its matched
// events' times and Fields slices, not the events (a key whose one
// candidate matched only step 0 holds its entry and one Fields slice).
// MaxKeys evicts the key whose newest candidate started first (among 16
// sampled, as CountWithin does), MaxMatches the key's oldest candidate,
// MaxPending decides the oldest half of the buffered events early; all
// count in Stats.Evictions and are logged at Warn, with their counts by
// cause, at most once a minute of the pipeline's clock. At most 2^31-1
// events are held at once: beyond, keys are evicted.
type Sequence struct {
	cfg    SequenceConfig
	clk    clock
	buf    pending
	kf     keyFields
	keys   *keyTable  // interns keys that are not one or two ints
	ints   *flatTable // state of int keys
	other  *flatTable // state of the other keys, keyed by their keys slot
	steps  int        // len(cfg.Steps)
	rw     int        // words of a candidate in a list: 2(steps-1)
	held   heldSlab   // the Fields of the events candidates matched
	lists  [][]int64  // candidates of keys with several, or one past step 0
	freeL  []int32    // free lists
	tmp    []int64    // a key's candidates while an event is applied
	zeros  []int64    // rw-2 zeros: the unmatched steps of a new candidate
	memo   []bool     // step predicates' results for the current event
	memoAt []uint64   // the event (gen) each memo entry belongs to
	gen    uint64
	since  int   // events decided since the last expiry sweep
	sink   int64 // keeps touch's loads alive
	pre    [prefetch]preKey
	stats  Stats
	ev     seqEvictions
	shed   shedRequest
	log    evictionLog
	pub    *published
	early  *early  // Early mode's bookkeeping, nil without it
	ecand  []int32 // Early: candidates' matched pool entries, steps-1 each
	ecnt   []int32 // Early: candidates' matched steps
	// Incremental checkpoints: the keys changed since the last one and
	// the schemas the store holds (nil and empty before the first).
	dk *keyDelta
	ds deltaSchemas
}

// seqEvictions counts evictions by cause, for the log; shed counts those
// of keys and pending events that were shed for the memory budget, early
// those of Early mode's bookkeeping.
type seqEvictions struct{ keys, matches, pending, shed, early int64 }

// NewSequence returns a Sequence operator.
func NewSequence(cfg SequenceConfig) (*Sequence, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Sequence{cfg: cfg, clk: newClock(), pub: &published{}}
	s.init()
	s.early = s.newEarly()
	s.clk.lateness = int64(cfg.AllowedLateness)
	s.buf.dedup.name = cfg.Dedup
	s.log = evictionLog{op: "sequence " + cfg.Name}
	return s, nil
}

// init sets the empty state of s.cfg.
func (s *Sequence) init() {
	s.steps = len(s.cfg.Steps)
	s.rw = 2 * (s.steps - 1)
	s.kf = newKeyFields(s.cfg.KeyBy)
	s.keys = newKeyTable()
	s.ints, s.other = newFlat(fHead), newFlat(fHead)
	s.memo, s.memoAt = make([]bool, s.steps), make([]uint64, s.steps)
	s.held, s.lists, s.freeL = heldSlab{}, nil, nil
	s.tmp, s.zeros = make([]int64, 0, 2*s.rw), make([]int64, s.rw-2)
}

// Start takes the pipeline's allowed lateness if the config left it zero,
// refuses key and dedup fields the input schema lacks, learns the
// pipeline's schemas (restored events share them), and takes its logger
// and clock for the eviction log.
func (s *Sequence) Start(_ context.Context, env stream.Env) error {
	s.clk.lateness = int64(startLateness(s.cfg.AllowedLateness, env))
	s.buf.known = env.Schemas
	s.log = newEvictionLog("sequence "+s.cfg.Name, env)
	return checkStart("sequence "+s.cfg.Name, env, s.cfg.KeyBy, s.cfg.Dedup)
}

// Process buffers the events; events behind the cutoff go to the late output.
func (s *Sequence) Process(_ context.Context, in []stream.Event, out *stream.Emitter) error {
	defer s.publish()
	if s.shed.due() {
		s.shedNow(out)
	}
	cut := s.clk.cutoff()
	for i := range in {
		if err := s.kf.check(&in[i], "sequence", s.cfg.Name); err != nil {
			return err
		}
		if !keyed(&s.kf, len(s.cfg.KeyBy), &in[i], out, &s.stats, "sequence", s.cfg.Name) {
			continue
		}
		if !inRange(&in[i], out, &s.stats, "sequence", s.cfg.Name) {
			continue
		}
		if in[i].Time < cut {
			s.stats.Late++
			out.Late(in[i])
			continue
		}
		s.buf.add(&in[i])
		if s.early != nil {
			s.arrive(&in[i], cut, out)
		}
	}
	if len(s.buf.evs) > s.cfg.MaxPending {
		rp := s.buf.cutHalf()
		n := len(s.buf.evs)
		s.decide(rp, false, out)
		s.stats.Evictions += int64(n - len(s.buf.evs))
		s.ev.pending += int64(n - len(s.buf.evs))
		s.clk.floor = max(s.clk.floor, rp)
		if s.early != nil {
			s.early.sweep(s.clk.cutoff(), false)
		}
	}
	return nil
}

// Advance decides the events the watermark (minus lateness) has passed, in
// order, then expires keys none of whose candidates can complete anymore.
func (s *Sequence) Advance(_ context.Context, wm int64, out *stream.Emitter) error {
	defer s.publish()
	if s.shed.due() {
		s.shedNow(out)
	}
	if wm > s.clk.wm {
		s.clk.wm = wm
	}
	rp := s.clk.cutoff()
	all := s.clk.wm == stream.MaxWatermark
	s.decide(rp, all, out)
	s.expire(rp, all)
	if s.early != nil {
		s.early.sweep(rp, all)
	}
	return nil
}

// Shed asks the operator to drop a fraction (0 < fraction <= 1) of its
// state at the start of its next Process or Advance call (stream.Shedder,
// for the pipeline's memory budget): first the oldest ceil(fraction × n)
// of its n buffered events are decided early, as when MaxPending is
// exceeded (their matches go out in that call; events older than those
// become late), then ceil(fraction × k) of the k keys it then holds are
// evicted as MaxKeys evicts them (the key whose newest candidate started
// first among 16 sampled, one at a time), with every candidate match they
// held: a match under way for such a key is not reported, and its next
// match starts from a new first step. Both count in Stats.Evictions and
// are logged at Warn at most once a minute.
func (s *Sequence) Shed(fraction float64) { s.shed.ask(fraction) }

// shedNow applies the Shed request; publish logs it.
func (s *Sequence) shedNow(out *stream.Emitter) {
	f := s.shed.take()
	if k := shedCount(f, len(s.buf.evs)); k > 0 {
		rp := s.buf.cut(k)
		n := len(s.buf.evs)
		s.decide(rp, false, out)
		d := int64(n - len(s.buf.evs))
		s.stats.Evictions += d
		s.ev.pending += d
		s.ev.shed += d
		s.clk.floor = max(s.clk.floor, rp)
	}
	k := shedCount(f, s.live())
	for range k {
		s.evictOne()
	}
	s.ev.shed += int64(k)
	if s.early != nil {
		before := s.stats.Evictions
		s.early.shed(f, &s.stats)
		s.ev.early += s.stats.Evictions - before
		s.ev.shed += s.stats.Evictions - before
	}
}

func (s *Sequence) decide(rp int64, all bool, out *stream.Emitter) {
	order, dups := s.buf.take(rp, all)
	s.stats.Duplicates += dups
	for k := 0; k < len(order); k += prefetch {
		part := order[k:min(k+prefetch, len(order))]
		s.touch(part)
		for j, i := range part {
			s.step(&s.buf.evs[i], &s.pre[j], out)
		}
	}
	s.buf.compact(rp, all)
}

// touch computes the int key of each event and loads its home entry, so
// that the loads miss the cache together rather than one after the other
// (as CountWithin.touch).
func (s *Sequence) touch(order []int32) {
	w := s.ints.w
	for j, i := range order {
		vals := s.kf.values(&s.buf.evs[i])
		pk := &s.pre[j]
		pk.home = -1
		if pk.ok = classify(vals) == keyInts; !pk.ok {
			continue
		}
		pk.a, pk.b = vals[0].Int(), 0
		if len(vals) > 1 {
			pk.b = vals[1].Int()
		}
		pk.home = int(s.ints.home(pk.a, pk.b)) * s.ints.width
	}
	var sink int64
	last := s.ints.width - 1
	for j := range order {
		if h := s.pre[j].home; h >= 0 {
			sink += w[h] + w[h+last]
		}
	}
	s.sink += sink
}

// test reports whether ev matches step i, calling its predicate at most
// once per event. An error or a panic counts in Stats.Errors: no match.
func (s *Sequence) test(i int, ev *stream.Event) bool {
	if s.memoAt[i] == s.gen {
		return s.memo[i]
	}
	ok := s.call(i, ev)
	s.memo[i], s.memoAt[i] = ok, s.gen
	return ok
}

func (s *Sequence) call(i int, ev *stream.Event) (ok bool) {
	defer func() {
		if recover() != nil {
			s.stats.Errors++
			ok = false
		}
	}()
	ok, err := s.cfg.Steps[i](ev)
	if err != nil {
		s.stats.Errors++
		return false
	}
	return ok
}

// Stats returns the counters as of the end of the last call; safe to call
// from any goroutine.
func (s *Sequence) Stats() Stats { return s.pub.get() }

func (s *Sequence) publish() {
	st := s.stats
	st.ActiveKeys = int64(s.live())
	st.Pending = int64(len(s.buf.evs))
	s.pub.set(st)
	if s.stats.Evictions != s.log.logged {
		s.log.note(s.stats.Evictions, s.ev.String())
	}
}
