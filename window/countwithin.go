package window

import (
	"context"
	"errors"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// KindCountWithin is WindowInfo.Kind of count-within results.
const KindCountWithin = "count_within"

// CountWithinConfig configures a CountWithin operator.
type CountWithinConfig struct {
	// Name is the results' WindowInfo.Name, e.g. "repeats". Required.
	Name string
	// KeyBy names the key fields, e.g. user and ip. Required.
	KeyBy []string
	// Count is N: the number of events of a key that make a match (≥ 1).
	Count int
	// Within is T: a match's last event is at most T after its first
	// (inclusive: exactly T matches).
	Within time.Duration
	// Dedup names the event id field (e.g. "event_id"); deliveries of one
	// event (equal time and id) count once. Empty: no dedup.
	Dedup string
	// AllowOverlap lets the events of a match take part in later matches.
	// By default a match consumes its events (Flink CEP's
	// skip-past-last-event strategy).
	AllowOverlap bool
	// AllowedLateness: decisions wait until the watermark minus this passes
	// an event, so events within the lateness are never missed and matches
	// never need retracting. Zero: the pipeline's AllowedLateness.
	AllowedLateness time.Duration
	// MaxKeys bounds the keys holding state. A new key beyond it evicts,
	// among the next 16 keys at the expiry sweep's cursor, the one whose
	// last event is oldest (sampled least-recently-used, like Redis), counted
	// as an eviction. Default DefaultMaxKeys.
	MaxKeys int
	// MaxPending bounds the events buffered until the watermark passes.
	// Beyond it the oldest half is decided early (counted as evictions) and
	// events older than those become late. Default DefaultMaxPending.
	MaxPending int
	// Early emits a result as soon as the events of a key that have
	// arrived (and are not used by an earlier result) hold Count events
	// within Within: in the Process call of the event that makes the
	// match, without waiting for the watermark. The event-time decision
	// still runs at the watermark; its results whose completing event
	// already had an early result are not emitted again (Stats.Confirmed),
	// the others are (Stats.Corrections). With events in order the early
	// results are the event-time results, one for one; under disorder
	// every event-time result is emitted (early or as a correction), the
	// earliest completion time among a key's results is the event-time
	// answer's first, and a key has a result exactly when it has one in
	// event time. See the package doc, "Early results".
	Early bool
}

func (c *CountWithinConfig) setDefaults() {
	if c.MaxKeys <= 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
}

// Validate reports settings that cannot work.
func (c CountWithinConfig) Validate() error {
	errs := checkCommon(c.Name, c.AllowedLateness)
	if len(c.KeyBy) == 0 {
		errs = append(errs, errors.New("KeyBy needs at least one field"))
	}
	if c.Count < 1 || c.Count > 1<<15 {
		errs = append(errs, errors.New("Count must be between 1 and 32768"))
	}
	if c.Within < 0 {
		errs = append(errs, errors.New("Within must not be negative"))
	}
	return configErr("count-within "+c.Name, errs)
}

// CountWithin emits a result when an event completes Count events of its
// key whose last and first times are at most Within apart. Events are
// decided in event-time order (deterministic tie-break) once the watermark
// minus the allowed lateness has passed them, so the results do not depend
// on arrival order. The result is a copy of the completing event with
// Window set: Start = First = time of the match's first event, End = Last =
// time of the completing event, Count = N.
type CountWithin struct {
	cfg    CountWithinConfig
	clk    clock
	buf    pending
	kf     keyFields
	keys   *keyTable  // interns keys that are not one or two ints
	ints   *flatTable // state of int keys: key, last time, meta, ring of times
	other  *flatTable // state of the other keys, keyed by their keys slot
	stride int        // Count-1: the ring's length
	since  int        // events decided since the last expiry sweep
	sink   int64      // keeps touch's loads alive
	pre    [prefetch]preKey
	shed   shedRequest
	log    evictionLog // of shedding only
	stats  Stats
	pub    *published
	early  *early // Early mode's bookkeeping, nil without it
	// Incremental checkpoints: the keys changed since the last, and the
	// schemas the store holds (nil and empty before the first).
	dk *keyDelta
	ds deltaSchemas
}

// NewCountWithin returns a CountWithin operator.
func NewCountWithin(cfg CountWithinConfig) (*CountWithin, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &CountWithin{cfg: cfg, clk: newClock(), kf: newKeyFields(cfg.KeyBy), keys: newKeyTable(), stride: cfg.Count - 1}
	c.ints, c.other = newFlat(fHead+c.stride), newFlat(fHead+c.stride)
	c.pub = &published{}
	c.clk.lateness = int64(cfg.AllowedLateness)
	c.buf.dedup.name = cfg.Dedup
	c.early = c.newEarly()
	return c, nil
}

func (c *CountWithin) newEarly() *early {
	if !c.cfg.Early {
		return nil
	}
	return newEarly(c.cfg.KeyBy, c.cfg.Dedup, c.cfg.Within, c.cfg.MaxKeys, c.cfg.MaxPending, false, !c.cfg.AllowOverlap)
}

// Start takes the pipeline's allowed lateness if the config left it zero,
// refuses key and dedup fields the input schema lacks, and learns the
// pipeline's schemas (restored events share them) and logger.
func (c *CountWithin) Start(_ context.Context, env stream.Env) error {
	c.clk.lateness = int64(startLateness(c.cfg.AllowedLateness, env))
	c.buf.known = env.Schemas
	c.log = newEvictionLog("count-within "+c.cfg.Name, env)
	return checkStart("count-within "+c.cfg.Name, env, c.cfg.KeyBy, c.cfg.Dedup)
}

// Process buffers the events; events behind the cutoff go to the late output.
func (c *CountWithin) Process(_ context.Context, in []stream.Event, out *stream.Emitter) error {
	defer c.publish()
	if c.shed.due() {
		c.shedNow(out)
	}
	cut := c.clk.cutoff()
	for i := range in {
		if err := c.kf.check(&in[i], "count-within", c.cfg.Name); err != nil {
			return err
		}
		if !keyed(&c.kf, len(c.cfg.KeyBy), &in[i], out, &c.stats, "count-within", c.cfg.Name) {
			continue
		}
		if !inRange(&in[i], out, &c.stats, "count-within", c.cfg.Name) {
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
		c.clk.floor = max(c.clk.floor, rp)
		if c.early != nil {
			c.early.sweep(c.clk.cutoff(), false)
		}
	}
	return nil
}

// Advance decides the events the watermark (minus lateness) has passed, in
// order, then expires keys that can no longer match.
func (c *CountWithin) Advance(_ context.Context, wm int64, out *stream.Emitter) error {
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
// exceeded (their matches go out in that call; events older than those
// become late), then ceil(fraction × k) of the k keys it then holds are
// evicted as MaxKeys evicts them (the key whose last event is oldest among
// 16 sampled, one at a time), losing their partial counts: a key's next
// events count from zero. Both count in Stats.Evictions and are logged at
// Warn at most once a minute.
func (c *CountWithin) Shed(fraction float64) { c.shed.ask(fraction) }

// shedNow applies the Shed request.
func (c *CountWithin) shedNow(out *stream.Emitter) {
	f := c.shed.take()
	if k := shedCount(f, len(c.buf.evs)); k > 0 {
		rp := c.buf.cut(k)
		n := len(c.buf.evs)
		c.decide(rp, false, out)
		c.stats.Evictions += int64(n - len(c.buf.evs))
		c.clk.floor = max(c.clk.floor, rp)
	}
	for range shedCount(f, c.live()) {
		c.evictOne()
	}
	if c.early != nil {
		c.early.shed(f, &c.stats)
	}
	c.log.note(c.stats.Evictions, shedWhat)
}

func (c *CountWithin) decide(rp int64, all bool, out *stream.Emitter) {
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

// prefetch is how many events touch their table entries ahead of
// processing: independent loads overlap their cache misses.
const prefetch = 128

// preKey is an event's int key, computed ahead by touch.
type preKey struct {
	a, b int64
	home int  // word offset of the key's home entry, -1 if not ints
	ok   bool // the key is one or two ints
}

// touch computes the int key of each event and loads its home entry, so
// that the loads miss the cache together rather than one after the other.
func (c *CountWithin) touch(order []int32) {
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
	// A tight loop of independent loads: many misses in flight at once.
	// An entry may straddle two cache lines: load its first and last word.
	var sink int64
	last := c.ints.width - 1
	for j := range order {
		if h := c.pre[j].home; h >= 0 {
			sink += w[h] + w[h+last]
		}
	}
	c.sink += sink
}
