package window

import (
	"context"
	"errors"
	"log/slog"

	"github.com/rulestream/rulestream/stream"
)

// NewValue emits the events whose Field has a value its key has not shown
// in the Within before them (see NewValueConfig): a login from an IP the
// user has not used for a day. Events are decided in event-time order (the
// deterministic tie-break of Order) once the watermark minus the allowed
// lateness has passed them, so the results do not depend on arrival order;
// a result fires as soon as its event is decided, not at the close of a
// window.
//
// State is one entry per (key, value) pair holding the value's last time:
// keys and values of one or two ints in total pack into a flat table, other
// pairs are interned first. An entry expires once the release point is more
// than Within past its time (it can no longer hide a value).
//
// The result is a copy of the event with the new value, with Window set:
// Kind "new_value", Key the key fields' text, Start = First = End = Last =
// the event's time, Count 1.
type NewValue struct {
	cfg   NewValueConfig
	clk   clock
	buf   pending
	kf    keyFields // KeyBy and Field: the identity of a state entry
	key   keyFields // KeyBy: the result's key
	keys  *keyTable // interns pairs that are not one or two ints
	ints  *flatTable
	other *flatTable
	since int // events decided since the last expiry sweep
	pre   [prefetch]preKey
	sink  int64
	shed  shedRequest
	log   evictionLog
	stats Stats
	pub   *published
	early *early // Early mode's bookkeeping (by key and value), nil without it
	// Incremental checkpoints: the pairs changed since the last one and
	// the schemas the store holds (nil and empty before the first).
	dk *keyDelta
	ds deltaSchemas
}

// NewNewValue returns a NewValue operator.
func NewNewValue(cfg NewValueConfig) (*NewValue, error) {
	cfg.setDefaults()
	errs := cfg.check()
	if cfg.Field == "" {
		errs = append(errs, errors.New("Field is required"))
	}
	if err := configErr("new_value "+cfg.Name, errs); err != nil {
		return nil, err
	}
	names := append(append([]string(nil), cfg.KeyBy...), cfg.Field)
	n := &NewValue{cfg: cfg, clk: newClock(), kf: newKeyFields(names), key: newKeyFields(cfg.KeyBy), keys: newKeyTable(),
		ints: newFlat(fHead), other: newFlat(fHead), pub: &published{}}
	n.clk.lateness = int64(cfg.AllowedLateness)
	n.buf.dedup.name = cfg.Dedup
	n.early = n.newEarly()
	return n, nil
}

func (n *NewValue) op() string { return "new_value " + n.cfg.Name }

// Start takes the pipeline's allowed lateness if the config left it zero,
// refuses key, value and dedup fields the input schema lacks, and learns
// the pipeline's schemas and logger.
func (n *NewValue) Start(_ context.Context, env stream.Env) error {
	n.clk.lateness = int64(startLateness(n.cfg.AllowedLateness, env))
	n.buf.known = env.Schemas
	n.log = newEvictionLog(n.op(), env)
	return checkStart(n.op(), env, n.kf.names, n.cfg.Dedup)
}

// Process buffers the events; events behind the cutoff go to the late
// output.
func (n *NewValue) Process(_ context.Context, in []stream.Event, out *stream.Emitter) error {
	defer n.publish()
	if n.shed.due() {
		n.shedNow(out)
	}
	cut := n.clk.cutoff()
	for i := range in {
		if err := n.kf.check(&in[i], "new_value", n.cfg.Name); err != nil {
			return err
		}
		if !keyed(&n.kf, len(n.cfg.KeyBy), &in[i], out, &n.stats, "new_value", n.cfg.Name) {
			continue
		}
		if !inRange(&in[i], out, &n.stats, "new_value", n.cfg.Name) {
			continue
		}
		if in[i].Time < cut {
			n.stats.Late++
			out.Late(in[i])
			continue
		}
		n.buf.add(&in[i])
		if n.early != nil {
			n.arrive(&in[i], cut, out)
		}
	}
	if len(n.buf.evs) > n.cfg.MaxPending {
		rp := n.buf.cutHalf()
		before := len(n.buf.evs)
		n.decide(rp, false, out)
		n.stats.Evictions += int64(before - len(n.buf.evs))
		n.log.note(n.stats.Evictions, "events decided early (MaxPending)")
		n.clk.floor = max(n.clk.floor, rp)
		if n.early != nil {
			n.early.sweep(n.clk.cutoff(), false)
		}
	}
	return nil
}

// Advance decides the events the watermark (minus lateness) has passed, in
// order, then expires what can no longer hide a value.
func (n *NewValue) Advance(_ context.Context, wm int64, out *stream.Emitter) error {
	defer n.publish()
	if n.shed.due() {
		n.shedNow(out)
	}
	if wm > n.clk.wm {
		n.clk.wm = wm
	}
	rp := n.clk.cutoff()
	all := n.clk.wm == stream.MaxWatermark
	n.decide(rp, all, out)
	n.expire(rp, all)
	if n.early != nil {
		n.early.sweep(rp, all)
	}
	return nil
}

// Shed asks the operator to drop a fraction (0 < fraction <= 1) of its
// state at the start of its next Process or Advance call (stream.Shedder,
// for the pipeline's memory budget): first the oldest ceil(fraction × n)
// of its n buffered events are decided early, as when MaxPending is
// exceeded (their results go out in that call; events older than those
// become late), then ceil(fraction × k) of the k (key, value) pairs it then
// knows are forgotten as MaxKeys forgets them (the pair last seen longest
// ago among 16 sampled, one at a time): a forgotten value is new again,
// and fires, the next time its key shows it, even within Within. Both
// count in Stats.Evictions and are logged at Warn at most once a minute.
func (n *NewValue) Shed(fraction float64) { n.shed.ask(fraction) }

// shedNow applies the Shed request.
func (n *NewValue) shedNow(out *stream.Emitter) {
	f := n.shed.take()
	if k := shedCount(f, len(n.buf.evs)); k > 0 {
		rp := n.buf.cut(k)
		before := len(n.buf.evs)
		n.decide(rp, false, out)
		n.stats.Evictions += int64(before - len(n.buf.evs))
		n.clk.floor = max(n.clk.floor, rp)
	}
	for range shedCount(f, n.live()) {
		n.dropOldest()
	}
	if n.early != nil {
		n.early.shed(f, &n.stats)
	}
	n.log.note(n.stats.Evictions, shedWhat)
}

func (n *NewValue) decide(rp int64, all bool, out *stream.Emitter) {
	order, dups := n.buf.take(rp, all)
	n.stats.Duplicates += dups
	for k := 0; k < len(order); k += prefetch {
		part := order[k:min(k+prefetch, len(order))]
		n.touch(part)
		for j, i := range part {
			n.step(&n.buf.evs[i], &n.pre[j], out)
		}
	}
	n.buf.compact(rp, all)
}

// touch computes the int pair of each event and loads its home entry
// ahead, as CountWithin does: independent cache misses overlap.
func (n *NewValue) touch(order []int32) {
	w := n.ints.w
	for j, i := range order {
		vals := n.kf.values(&n.buf.evs[i])
		pk := &n.pre[j]
		pk.home = -1
		if pk.ok = classify(vals) == keyInts; !pk.ok {
			continue
		}
		pk.a, pk.b = vals[0].Int(), 0
		if len(vals) > 1 {
			pk.b = vals[1].Int()
		}
		pk.home = int(n.ints.home(pk.a, pk.b)) * n.ints.width
	}
	var sink int64
	last := n.ints.width - 1
	for j := range order {
		if h := n.pre[j].home; h >= 0 {
			sink += w[h] + w[h+last]
		}
	}
	n.sink += sink
}

// step applies one event, in decision order; pk is its pair if it is ints.
func (n *NewValue) step(ev *stream.Event, pk *preKey, out *stream.Emitter) {
	n.since++
	tab, a, b := n.ints, pk.a, pk.b
	if !pk.ok {
		vals := n.kf.values(ev)
		if vals[len(vals)-1].IsNull() {
			return // no value: nothing to tell
		}
		tab = n.other
		s, _ := n.keys.find(vals, true)
		a, b = int64(s), 0
	}
	p, ok := tab.find(a, b)
	if ok {
		n.dk.dirty(tab, n.ints, a, b)
		e := tab.at(p)
		if ev.Time-e[fLast] > int64(n.cfg.Within) {
			n.emit(ev, out)
		}
		e[fLast] = ev.Time
		return
	}
	if n.live() >= n.cfg.MaxKeys {
		n.evictOne()
		p, _ = tab.find(a, b) // entries may have moved
	}
	n.dk.dirty(tab, n.ints, a, b)
	e := tab.at(tab.insert(p, a, b))
	e[fLast] = ev.Time
	n.emit(ev, out)
}

func (n *NewValue) emit(ev *stream.Event, out *stream.Emitter) {
	if n.early != nil && n.settle(ev) {
		return
	}
	res := *ev
	res.Window = &stream.WindowInfo{Name: n.cfg.Name, Kind: KindNewValue, Key: keyText(n.key.values(ev)),
		Start: ev.Time, End: ev.Time, First: ev.Time, Last: ev.Time, Count: 1}
	n.stats.Emitted++
	out.Emit(res)
}

// keyText is the WindowInfo.Key of key values: their text joined with '|'.
func keyText(vals []stream.Value) string {
	if len(vals) == 1 {
		return vals[0].Text()
	}
	var b []byte
	for i, v := range vals {
		if i > 0 {
			b = append(b, '|')
		}
		b = v.AppendText(b)
	}
	return string(b)
}

func (n *NewValue) live() int { return n.ints.n + n.other.n }

// expire drops the pairs whose last time is more than Within before the
// release point, by an incremental sweep in proportion to the events
// decided (all of them at the final watermark).
func (n *NewValue) expire(rp int64, all bool) {
	if all {
		n.stats.Expired += int64(n.live())
		n.ints, n.other, n.keys = newFlat(fHead), newFlat(fHead), newKeyTable()
		if n.dk != nil {
			n.dk.reset = true
		}
		return
	}
	limit := sub(rp, int64(n.cfg.Within))
	for _, tab := range [2]*flatTable{n.ints, n.other} {
		budget := 2*n.since + 64 + int(tab.cap()/256)
		var gone func(e []int64)
		if tab == n.other {
			gone = func(e []int64) {
				n.dk.removed(tab, n.ints, n.keys, e)
				n.keys.remove(int32(e[fKeyA]))
			}
		} else if n.dk != nil {
			gone = func(e []int64) { n.dk.removed(tab, n.ints, n.keys, e) }
		}
		n.stats.Expired += int64(tab.sweep(budget, limit, gone))
	}
	n.since = 0
}

// evictOne drops, among the next 16 pairs at the sweep cursor, the one
// last seen longest ago (sampled least recently used), and logs it.
func (n *NewValue) evictOne() {
	n.dropOldest()
	n.log.note(n.stats.Evictions, "pairs evicted (MaxKeys)")
}

// dropOldest is evictOne without the log.
func (n *NewValue) dropOldest() {
	tab := n.ints
	if tab.n == 0 {
		tab = n.other
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
	n.dk.removed(tab, n.ints, n.keys, tab.at(best))
	if tab == n.other {
		n.keys.remove(int32(tab.at(best)[fKeyA]))
	}
	tab.del(best)
	n.stats.Evictions++
}

// Stats returns the counters as of the end of the last call; safe to call
// from any goroutine.
func (n *NewValue) Stats() Stats { return n.pub.get() }

func (n *NewValue) publish() {
	s := n.stats
	s.ActiveKeys = int64(n.live())
	s.Pending = int64(len(n.buf.evs))
	n.pub.set(s)
}

// evictionLog logs a pattern's evictions at Warn, at most once a minute of
// the pipeline's clock, so that a bound being hit is never silent.
type evictionLog struct {
	op     string
	logger *slog.Logger
	clock  stream.Clock
	last   int64
	logged int64
}

func newEvictionLog(op string, env stream.Env) evictionLog {
	clock := env.Clock
	if clock == nil { // a pipeline always gives one; a bare Env may not
		clock = stream.SystemClock{}
	}
	return evictionLog{op: op, logger: env.Logger, clock: clock}
}

// note logs total evictions (what) unless it did within the last minute.
func (l *evictionLog) note(total int64, what string) {
	if l.logger == nil || total == l.logged {
		return
	}
	now := l.clock.Now().UnixNano()
	if l.last != 0 && now-l.last < 60e9 {
		return
	}
	l.logger.Warn("window state bound reached", "op", l.op, "what", what, "evictions_total", total, "since_last_log", total-l.logged)
	l.last, l.logged = now, total
}
