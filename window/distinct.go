package window

import (
	"context"
	"errors"
	"fmt"

	"github.com/rulestream/rulestream/stream"
)

// maxDistinctCount bounds DistinctCountConfig.Count: a key's entry holds
// Count-1 values inline.
const maxDistinctCount = 1 << 15

func (c *DistinctCountConfig) setDefaults() { c.PatternConfig.setDefaults() }

// Validate reports settings that cannot work. Zero bounds mean their
// defaults.
func (c DistinctCountConfig) Validate() error {
	c.setDefaults()
	errs := c.check()
	if c.Field == "" {
		errs = append(errs, errors.New("Field is required"))
	}
	if c.Count < 1 || c.Count > maxDistinctCount {
		errs = append(errs, fmt.Errorf("Count must be between 1 and %d", maxDistinctCount))
	}
	return configErr("distinct_count "+c.Name, errs)
}

// DistinctCounter emits, per key, the events that bring the number of
// distinct values of Field among the key's events in [t - Within, t] to
// Count (see DistinctCountConfig): five distinct tracks in ten minutes.
// (The type is not named DistinctCount: that is the aggregate.) Events are
// decided in event-time order (the deterministic tie-break of Order: time,
// dedup value, event key, position) once the watermark minus the allowed
// lateness has passed them, so the results do not depend on arrival order.
//
// Per key it keeps the distinct values of the events since its last match,
// each with its latest time. On an event with a non-null value at time t,
// in decision order: values older than t - Within are dropped, the event's
// value takes time t, and if the key then has Count values the event fires
// and the key's values are cleared (the match consumes its events).
// Values are compared exactly: ints, times and bools by kind and integer,
// strings by content (interned, never by hash alone), floats by value (-0
// equals 0, every NaN equals NaN); values of different kinds differ.
//
// The result is a copy of the completing event with Window set: Kind
// "distinct_count", Key the key fields' text, Start = First = the earliest
// of the counted values' times, End = Last = t, Count = Count.
//
// State is one flat-table entry per key holding up to Count-1 values and
// times inline (values that are not ints, times or bools are interned). A
// key whose values can no longer count (the release point is more than
// Within past its last event) is removed by an incremental sweep (counted
// in Stats.Expired). Beyond MaxKeys, the key whose last event is oldest
// among 16 sampled is evicted (Stats.Evictions), logged at Warn at most
// once a minute.
type DistinctCounter struct {
	cfg    DistinctCountConfig
	within int64
	clk    clock
	buf    pending
	kf     keyFields
	field  fieldRef
	keys   *keyTable  // interns keys that are not one or two ints
	values valueTable // interns values that are not ints, times or bools
	ints   *flatTable // per key of one or two ints: its values and their times
	other  *flatTable // the same for other keys, keyed by their keys slot
	slots  int        // Count-1: the values an entry holds
	since  int        // events decided since the last expiry sweep
	gone   [2]func(e []int64)
	pre    [prefetch]preKey
	sink   int64
	shed   shedRequest
	log    evictionLog
	stats  Stats
	pub    *published
	early  *early          // Early mode's bookkeeping, nil without it
	efield fieldRef        // Early: the value field
	ecount map[int32]int32 // Early: values (their slots) in a window of the pool
	// Incremental checkpoints: the keys changed since the last one and
	// the schemas the store holds (nil and empty before the first).
	dk *keyDelta
	ds deltaSchemas
}

// NewDistinctCount returns a DistinctCounter operator.
func NewDistinctCount(cfg DistinctCountConfig) (*DistinctCounter, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &DistinctCounter{cfg: cfg, within: int64(cfg.Within), clk: newClock(), slots: cfg.Count - 1, pub: &published{}}
	c.reset()
	c.bind()
	if c.early = c.newEarly(); c.early != nil {
		c.efield, c.ecount = fieldRef{name: cfg.Field}, map[int32]int32{}
	}
	c.clk.lateness = int64(cfg.AllowedLateness)
	c.buf.dedup.name = cfg.Dedup
	return c, nil
}

// reset empties the state (not the buffer, clock or counters).
func (c *DistinctCounter) reset() {
	c.kf = newKeyFields(c.cfg.KeyBy)
	c.field = fieldRef{name: c.cfg.Field}
	c.keys = newKeyTable()
	c.values = newValueTable()
	c.ints, c.other = newFlat(fHead+2*c.slots), newFlat(fHead+2*c.slots)
}

// bind makes the sweep's callbacks, which release what an expired entry
// holds, point at c.
func (c *DistinctCounter) bind() { c.gone = [2]func(e []int64){c.goneInt, c.goneOther} }

func (c *DistinctCounter) op() string { return "distinct_count " + c.cfg.Name }

// Start takes the pipeline's allowed lateness if the config left it zero,
// refuses key, dedup and value fields the input schema lacks, and learns
// the pipeline's schemas (restored events share them) and logger.
func (c *DistinctCounter) Start(_ context.Context, env stream.Env) error {
	c.clk.lateness = int64(startLateness(c.cfg.AllowedLateness, env))
	c.buf.known = env.Schemas
	c.log = newEvictionLog(c.op(), env)
	if err := checkStart(c.op(), env, c.cfg.KeyBy, c.cfg.Dedup); err != nil {
		return err
	}
	if env.Schema != nil && env.Schema.Index(c.cfg.Field) < 0 {
		return fmt.Errorf("%s: field %s not in the events' schema %s", c.op(), c.cfg.Field, env.Schema.Name())
	}
	return nil
}

// Process buffers the events; events behind the cutoff go to the late
// output.
func (c *DistinctCounter) Process(_ context.Context, in []stream.Event, out *stream.Emitter) error {
	defer c.publish()
	if c.shed.due() {
		c.shedNow(out)
	}
	cut := c.clk.cutoff()
	for i := range in {
		if err := c.kf.check(&in[i], "distinct_count", c.cfg.Name); err != nil {
			return err
		}
		if !keyed(&c.kf, len(c.cfg.KeyBy), &in[i], out, &c.stats, "distinct_count", c.cfg.Name) {
			continue
		}
		if !inRange(&in[i], out, &c.stats, "distinct_count", c.cfg.Name) {
			continue
		}
		if in[i].Time < cut {
			c.stats.Late++
			out.Late(in[i])
			continue
		}
		c.buf.add(&in[i])
		if c.early != nil {
			c.arrive(&in[i], cut, out)
		}
	}
	if len(c.buf.evs) > c.cfg.MaxPending {
		rp := c.buf.cutHalf()
		n := len(c.buf.evs)
		c.decide(rp, false, out)
		c.stats.Evictions += int64(n - len(c.buf.evs))
		c.log.note(c.stats.Evictions, "events decided early (MaxPending)")
		c.clk.floor = max(c.clk.floor, rp)
		if c.early != nil {
			c.early.sweep(c.clk.cutoff(), false)
		}
	}
	return nil
}

// Advance decides the events the watermark (minus lateness) has passed, in
// order, then expires keys whose values can no longer count.
func (c *DistinctCounter) Advance(_ context.Context, wm int64, out *stream.Emitter) error {
	defer c.publish()
	if c.shed.due() {
		c.shedNow(out)
	}
	if wm > c.clk.wm {
		c.clk.wm = wm
	}
	rp := c.clk.cutoff()
	all := c.clk.wm == stream.MaxWatermark
	c.decide(rp, all, out)
	c.expire(rp, all)
	if c.early != nil {
		c.early.sweep(rp, all)
	}
	return nil
}

// Shed asks the operator to drop a fraction (0 < fraction <= 1) of its
// state at the start of its next Process or Advance call (stream.Shedder,
// for the pipeline's memory budget): first the oldest ceil(fraction × n)
// of its n buffered events are decided early, as when MaxPending is
// exceeded (their results go out in that call; events older than those
// become late), then ceil(fraction × k) of the k keys it then holds are
// evicted as MaxKeys evicts them (the key whose last event is oldest among
// 16 sampled, one at a time), losing the distinct values they counted: a
// key's next events count from zero. Both count in Stats.Evictions and
// are logged at Warn at most once a minute.
func (c *DistinctCounter) Shed(fraction float64) { c.shed.ask(fraction) }

// shedNow applies the Shed request.
func (c *DistinctCounter) shedNow(out *stream.Emitter) {
	f := c.shed.take()
	if k := shedCount(f, len(c.buf.evs)); k > 0 {
		rp := c.buf.cut(k)
		n := len(c.buf.evs)
		c.decide(rp, false, out)
		c.stats.Evictions += int64(n - len(c.buf.evs))
		c.clk.floor = max(c.clk.floor, rp)
	}
	for range shedCount(f, c.live()) {
		c.dropOldest()
	}
	if c.early != nil {
		c.early.shed(f, &c.stats)
	}
	c.log.note(c.stats.Evictions, shedWhat)
}

func (c *DistinctCounter) decide(rp int64, all bool, out *stream.Emitter) {
	order, dups := c.buf.take(rp, all)
	c.stats.Duplicates += dups
	for k := 0; k < len(order); k += prefetch {
		part := order[k:min(k+prefetch, len(order))]
		c.touch(part)
		for j, i := range part {
			c.step(&c.buf.evs[i], &c.pre[j], out)
		}
	}
	c.buf.compact(rp, all)
}

// touch computes the int key of each event and loads its home entry ahead,
// as CountWithin does: independent cache misses overlap.
func (c *DistinctCounter) touch(order []int32) {
	w := c.ints.w
	for j, i := range order {
		vals := c.kf.values(&c.buf.evs[i])
		pk := &c.pre[j]
		pk.home = -1
		if pk.ok = classify(vals) == keyInts; !pk.ok {
			continue
		}
		pk.a, pk.b = vals[0].Int(), 0
		if len(vals) > 1 {
			pk.b = vals[1].Int()
		}
		pk.home = int(c.ints.home(pk.a, pk.b)) * c.ints.width
	}
	var sink int64
	last := c.ints.width - 1
	for j := range order {
		if h := c.pre[j].home; h >= 0 {
			sink += w[h] + w[h+last]
		}
	}
	c.sink += sink
}

// step applies one event, in decision order; pk is its key if it is ints.
func (c *DistinctCounter) step(ev *stream.Event, pk *preKey, out *stream.Emitter) {
	c.since++
	v := c.field.get(ev)
	if v.IsNull() {
		return
	}
	if c.slots == 0 { // Count 1: every value is a match
		c.match(ev, ev.Time, out)
		return
	}
	v = canonValue(v)
	tab, ka, kb := c.ints, pk.a, pk.b
	if !pk.ok {
		s, _ := c.keys.find(c.kf.values(ev), true)
		tab, ka, kb = c.other, int64(s), 0
	}
	p, ok := tab.find(ka, kb)
	if !ok {
		if c.live() >= c.cfg.MaxKeys {
			c.evictOne()
			p, _ = tab.find(ka, kb) // entries may have moved
		}
		p = tab.insert(p, ka, kb)
	}
	c.dk.dirty(tab, c.ints, ka, kb)
	c.add(tab, p, v, ev, out)
}

func (c *DistinctCounter) match(ev *stream.Event, first int64, out *stream.Emitter) {
	if c.early != nil && c.settle(ev) {
		return
	}
	res := *ev
	res.Window = &stream.WindowInfo{Name: c.cfg.Name, Kind: KindDistinctCount, Key: keyText(c.kf.values(ev)),
		Start: first, End: ev.Time, Count: int64(c.cfg.Count), First: first, Last: ev.Time}
	c.stats.Emitted++
	out.Emit(res)
}

func (c *DistinctCounter) live() int { return c.ints.n + c.other.n }

// Stats returns the counters as of the end of the last call; safe to call
// from any goroutine.
func (c *DistinctCounter) Stats() Stats { return c.pub.get() }

func (c *DistinctCounter) publish() {
	s := c.stats
	s.ActiveKeys = int64(c.live())
	s.Pending = int64(len(c.buf.evs))
	c.pub.set(s)
}
