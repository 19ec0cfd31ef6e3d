package window

import (
	"context"
	"errors"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// DedupConfig configures a Dedup operator.
type DedupConfig struct {
	// Name identifies the operator in errors. Default "dedup".
	Name string
	// Field holds the event id (e.g. "event_id"). Required. Events whose
	// field is null or missing always pass.
	Field string
	// AllowedLateness: an id is remembered while its event time is at or
	// after the watermark minus this (a later duplicate is late anyway).
	// Zero: the pipeline's AllowedLateness.
	AllowedLateness time.Duration
	// MaxIDs bounds the remembered ids; beyond it the earliest arrivals are
	// forgotten first, counted as evictions. Default DefaultMaxIDs.
	MaxIDs int
}

func (c *DedupConfig) setDefaults() {
	if c.Name == "" {
		c.Name = "dedup"
	}
	if c.MaxIDs <= 0 {
		c.MaxIDs = DefaultMaxIDs
	}
}

// Validate reports settings that cannot work.
func (c DedupConfig) Validate() error {
	errs := checkCommon(c.Name, c.AllowedLateness)
	if c.Field == "" {
		errs = append(errs, errors.New("Field is required"))
	}
	return configErr("dedup "+c.Name, errs)
}

// Dedup drops duplicate deliveries: the first delivery of an id passes at
// once, later ones are dropped while the id is remembered. Events behind the
// watermark minus the allowed lateness go to the late output.
type Dedup struct {
	cfg   DedupConfig
	clk   clock
	field fieldRef
	ids   *idSet
	shed  shedRequest
	log   evictionLog // of shedding only
	stats Stats
	pub   *published
}

// NewDedup returns a Dedup operator.
func NewDedup(cfg DedupConfig) (*Dedup, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Dedup{cfg: cfg, clk: newClock(), field: fieldRef{name: cfg.Field}, ids: newIDSet(cfg.MaxIDs), pub: &published{}}
	d.clk.lateness = int64(cfg.AllowedLateness)
	return d, nil
}

// Start takes the pipeline's allowed lateness if the config left it zero,
// refuses an id field the input schema lacks, and takes the pipeline's
// logger.
func (d *Dedup) Start(_ context.Context, env stream.Env) error {
	d.clk.lateness = int64(startLateness(d.cfg.AllowedLateness, env))
	d.log = newEvictionLog("dedup "+d.cfg.Name, env)
	return checkStart("dedup "+d.cfg.Name, env, nil, d.cfg.Field)
}

// Process passes first deliveries and drops duplicates.
func (d *Dedup) Process(_ context.Context, in []stream.Event, out *stream.Emitter) error {
	defer d.publish()
	if d.shed.due() {
		d.shedNow()
	}
	cut := d.clk.cutoff()
	for i := range in {
		ev := &in[i]
		if ev.Time < cut {
			d.stats.Late++
			out.Late(*ev)
			continue
		}
		if id := d.field.get(ev); !id.IsNull() && d.ids.seen(id, ev.Time) {
			d.stats.Duplicates++
			continue
		}
		d.stats.Emitted++
		out.Emit(*ev)
	}
	return nil
}

// Advance forgets ids that fell behind the lateness cutoff.
func (d *Dedup) Advance(_ context.Context, wm int64, _ *stream.Emitter) error {
	defer d.publish()
	if d.shed.due() {
		d.shedNow()
	}
	if wm > d.clk.wm {
		d.clk.wm = wm
	}
	d.ids.expire(d.clk.cutoff())
	return nil
}

// Shed asks the operator to drop a fraction (0 < fraction <= 1) of its
// state at the start of its next Process or Advance call (stream.Shedder,
// for the pipeline's memory budget): ceil(fraction × n) of its n
// remembered ids are forgotten, earliest arrivals first, as MaxIDs forgets
// them: a later re-delivery of one of them passes, a duplicate downstream.
// They count in Stats.Evictions and are logged at Warn at most once a
// minute.
func (d *Dedup) Shed(fraction float64) { d.shed.ask(fraction) }

// shedNow applies the Shed request.
func (d *Dedup) shedNow() {
	d.ids.shed(shedCount(d.shed.take(), d.ids.len()))
	d.log.note(d.ids.evictions, shedWhat)
}

// Stats returns the counters as of the end of the last call (safe to call
// from any goroutine); ActiveKeys is the number of remembered ids.
func (d *Dedup) Stats() Stats { return d.pub.get() }

func (d *Dedup) publish() {
	s := d.stats
	s.Evictions = d.ids.evictions
	s.ActiveKeys = int64(d.ids.len())
	d.pub.set(s)
}

// Snapshot serialises the watermark and the remembered ids.
func (d *Dedup) Snapshot() ([]byte, error) {
	e := newEncoder(snapDedup)
	e.iv(d.clk.wm)
	d.ids.encode(e)
	return e.b, nil
}

// Restore replaces the state with a snapshot.
func (d *Dedup) Restore(data []byte) error {
	dec, err := newDecoder(data, snapDedup)
	if err != nil {
		return err
	}
	wm := dec.iv()
	ids := newIDSet(max(d.cfg.MaxIDs, 1))
	ids.max = int(^uint(0) >> 1) // restore everything, then apply the bound
	ids.decode(dec)
	if err := dec.finish(); err != nil {
		return err
	}
	ids.max, ids.evictions = d.cfg.MaxIDs, d.ids.evictions // the counter carries over
	d.clk.wm, d.ids = wm, ids
	d.publish()
	return nil
}

// SnapshotDelta implements stream.DeltaSnapshotter: the ids remembered and
// forgotten since the last call, the watermark as the base.
func (d *Dedup) SnapshotDelta(p *stream.DeltaPart) ([]byte, error) {
	d.ids.deltaOf(p)
	e := newEncoder(snapDedup)
	e.iv(d.clk.wm)
	return e.b, nil
}

// RestoreDelta implements stream.DeltaSnapshotter.
func (d *Dedup) RestoreDelta(base []byte, entries []stream.KV) error {
	dec, err := newDecoder(base, snapDedup)
	if err != nil {
		return err
	}
	wm := dec.iv()
	if err := dec.finish(); err != nil {
		return err
	}
	ids := newIDSet(max(d.cfg.MaxIDs, 1))
	ids.max = int(^uint(0) >> 1) // restore everything, then apply the bound
	if err := ids.restoreDelta(entries); err != nil {
		return err
	}
	ids.max, ids.evictions = d.cfg.MaxIDs, d.ids.evictions
	d.clk.wm, d.ids = wm, ids
	d.publish()
	return nil
}

// EmitsInArrivalOrder says that Dedup passes each first delivery on as it
// takes it (stream.ArrivalOrdered).
func (d *Dedup) EmitsInArrivalOrder() bool { return true }
