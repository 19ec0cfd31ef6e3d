package window

import (
	"context"
	"errors"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// Kinds of window results.
const (
	KindTumbling = "tumbling"
	KindSliding  = "sliding"
	KindSession  = "session"
)

// WindowConfig holds the settings shared by tumbling, sliding and session
// windows.
type WindowConfig struct {
	// Name is the results' WindowInfo.Name. Required.
	Name string
	// KeyBy names the key fields. Required.
	KeyBy []string
	// Aggs are computed per window, into WindowInfo.Aggs. Count, first and
	// last event time are always in WindowInfo.
	Aggs []Aggregate
	// Dedup names the event id field: deliveries of one id count once. The
	// ids are remembered while their time is within the allowed lateness.
	// Empty: no dedup.
	Dedup string
	// MaxIDs bounds the remembered dedup ids; beyond it the earliest
	// arrivals are forgotten first, counted as evictions. Default
	// DefaultMaxIDs.
	MaxIDs int
	// AllowedLateness keeps a fired window for this long (event time) after
	// its end: a later event within it updates the window, which fires again
	// with Update set. Zero: the pipeline's AllowedLateness.
	AllowedLateness time.Duration
	// MaxKeys bounds the keys holding windows. A new key beyond it evicts the
	// window with the earliest pending action (fire or purge), firing it
	// early if its result is not out yet, until a key is free; counted as
	// evictions. Later events of an evicted window open a new one, whose
	// result is not marked Update. Default DefaultMaxKeys.
	MaxKeys int
}

func (c *WindowConfig) setDefaults() {
	if c.MaxKeys <= 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.MaxIDs <= 0 {
		c.MaxIDs = DefaultMaxIDs
	}
}

func (c *WindowConfig) check() []error {
	errs := checkCommon(c.Name, c.AllowedLateness)
	if len(c.KeyBy) == 0 {
		errs = append(errs, errors.New("KeyBy needs at least one field"))
	}
	return append(errs, checkAggs(c.Aggs)...)
}

// TumblingConfig configures tumbling windows [k*Size+Offset, (k+1)*Size+Offset).
type TumblingConfig struct {
	WindowConfig
	Size   time.Duration // required
	Offset time.Duration // shifts the window boundaries (e.g. time zones)
}

// SlidingConfig configures sliding (hopping) windows of Size starting every
// Slide; an event belongs to about Size/Slide windows.
type SlidingConfig struct {
	WindowConfig
	Size   time.Duration // required
	Slide  time.Duration // required, at most Size
	Offset time.Duration
}

// TimeWindows is a tumbling or sliding window operator. A window fires once
// the watermark reaches its end; see the package documentation for the
// result events and the lateness policy.
type TimeWindows struct {
	base
	lateness            time.Duration
	size, slide, offset int64
}

// NewTumbling returns a tumbling window operator.
func NewTumbling(cfg TumblingConfig) (*TimeWindows, error) {
	return newTime(KindTumbling, cfg.WindowConfig, cfg.Size, cfg.Size, cfg.Offset)
}

// NewSliding returns a sliding window operator.
func NewSliding(cfg SlidingConfig) (*TimeWindows, error) {
	return newTime(KindSliding, cfg.WindowConfig, cfg.Size, cfg.Slide, cfg.Offset)
}

func newTime(kind string, cfg WindowConfig, size, slide, offset time.Duration) (*TimeWindows, error) {
	cfg.setDefaults()
	errs := cfg.check()
	if size <= 0 {
		errs = append(errs, errors.New("Size must be positive"))
	}
	if slide <= 0 || slide > size {
		errs = append(errs, errors.New("Slide must be positive and at most Size"))
	}
	if err := configErr(kind+" "+cfg.Name, errs); err != nil {
		return nil, err
	}
	t := &TimeWindows{
		base:     newBase(cfg, kind),
		lateness: cfg.AllowedLateness, size: int64(size), slide: int64(slide), offset: int64(offset) % int64(slide),
	}
	return t, nil
}

// Start takes the pipeline's allowed lateness if the config left it zero,
// and refuses key and dedup fields the input schema lacks.
func (t *TimeWindows) Start(_ context.Context, env stream.Env) error {
	t.clk.lateness = int64(startLateness(t.lateness, env))
	return t.start(env)
}

// lastStart is the start of the latest window containing ts.
func (t *TimeWindows) lastStart(ts int64) int64 {
	r := (ts - t.offset) % t.slide
	if r < 0 {
		r += t.slide
	}
	return ts - r
}

// Process adds the events to their windows.
func (t *TimeWindows) Process(_ context.Context, in []stream.Event, out *stream.Emitter) error {
	defer t.publish()
	if t.shed.due() {
		t.shedNow(out)
	}
	for i := range in {
		ev := &in[i]
		if err := t.checkKey(ev); err != nil {
			return err
		}
		if !keyed(&t.kf, t.nkey, ev, out, &t.stats, t.kind, t.name) {
			continue
		}
		if !t.admit(ev, out) {
			continue
		}
		k := t.key(ev, out)
		for s := t.lastStart(ev.Time); s > ev.Time-t.size; s -= t.slide {
			w := t.find(k, s)
			if w < 0 {
				w = t.newWin(k, s, s+t.size)
			}
			t.agg.add(&t.wins[w].acc, ev)
			if s+t.size <= t.clk.wm {
				t.touched(w)
			}
		}
	}
	t.flush(out)
	return nil
}

// Advance fires and purges windows.
func (t *TimeWindows) Advance(_ context.Context, wm int64, out *stream.Emitter) error {
	defer t.publish()
	if t.shed.due() {
		t.shedNow(out)
	}
	t.advance(wm, out)
	return nil
}

// Shed asks the operator to drop a fraction (0 < fraction <= 1) of its
// state at the start of its next Process or Advance call (stream.Shedder,
// for the pipeline's memory budget): ceil(fraction × n) of its n live
// windows are evicted as MaxKeys evicts them, the earliest pending action
// first: a window not fired yet fires early, in that call, with what it
// has counted so far (its later events open a new window, whose result is
// not marked Update: consumers see two partial results of one window), and
// a fired window kept for its lateness is dropped (a later event opens a
// new window instead of updating it). Then ceil(fraction × m) of its m
// remembered dedup ids are forgotten, earliest arrivals first: a
// re-delivery of one of them counts again. Both count in Stats.Evictions
// and are logged at Warn at most once a minute.
func (t *TimeWindows) Shed(fraction float64) { t.shed.ask(fraction) }

// find returns key k's window starting at s, or -1. A key has few live
// windows (about (Size+lateness)/Slide + out-of-orderness/Slide), newest
// first in its list.
func (t *TimeWindows) find(k int32, s int64) int32 {
	for i := t.head[k]; i >= 0; i = t.wins[i].next {
		if t.wins[i].start == s {
			return i
		}
	}
	return -1
}

// Stats returns the counters as of the end of the last call; safe to call
// from any goroutine.
func (t *TimeWindows) Stats() Stats { return t.pub.get() }

// Snapshot serialises the watermark, dedup ids and live windows.
func (t *TimeWindows) Snapshot() ([]byte, error) {
	e := newEncoder(snapTime)
	e.iv(t.size)
	e.iv(t.slide)
	e.iv(t.offset)
	t.encode(e)
	return e.b, nil
}

// Restore replaces the state with a snapshot of windows of the same shape.
func (t *TimeWindows) Restore(data []byte) error {
	d, err := newDecoder(data, snapTime)
	if err != nil {
		return err
	}
	if d.iv() != t.size || d.iv() != t.slide || d.iv() != t.offset {
		d.fail("snapshot of windows of another size, slide or offset")
	}
	n := &TimeWindows{base: t.fresh(),
		lateness: t.lateness, size: t.size, slide: t.slide, offset: t.offset}
	n.decode(d, n.check)
	if err := d.finish(); err != nil {
		return err
	}
	n.stats = t.stats
	*t = *n
	t.publish()
	return nil
}

// check refuses a restored window i that another of its key duplicates or
// whose bounds are not the operator's.
func (t *TimeWindows) check(d *decoder, i int32) {
	w := &t.wins[i]
	dup := false
	for j := w.next; j >= 0; j = t.wins[j].next {
		dup = dup || t.wins[j].start == w.start
	}
	if dup || w.end != w.start+t.size || t.lastStart(w.start) != w.start {
		d.fail("bad window bounds")
	}
}
