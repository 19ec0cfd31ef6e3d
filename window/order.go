package window

import (
	"context"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// OrderConfig configures an Order operator.
type OrderConfig struct {
	// Name identifies the operator in errors. Default "order".
	Name string
	// Dedup names a field (e.g. "event_id"): events of equal event time and
	// equal non-null value are deliveries of one event; only one is
	// released. Empty: no dedup.
	Dedup string
	// AllowedLateness delays the release by this much beyond the watermark,
	// so that events within the lateness are still released in order. Zero:
	// the pipeline's AllowedLateness.
	AllowedLateness time.Duration
	// MaxPending bounds the buffered events. When it is exceeded, the oldest
	// half is released early (counted as evictions) and events older than
	// what was released become late. Default DefaultMaxPending.
	MaxPending int
}

func (c *OrderConfig) setDefaults() {
	if c.Name == "" {
		c.Name = "order"
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
}

// Validate reports settings that cannot work.
func (c OrderConfig) Validate() error {
	return configErr("order "+c.Name, checkCommon(c.Name, c.AllowedLateness))
}

// Order buffers events until the watermark minus the allowed lateness
// passes their time, then emits them in event-time order with the
// deterministic tie-break (dedup value, key, position). Stateful operators
// behind it see the same sequence whatever the arrival order was. Events
// behind the release point go to the late output.
type Order struct {
	cfg   OrderConfig
	clk   clock
	buf   pending
	shed  shedRequest
	log   evictionLog // of shedding only
	stats Stats
	pub   *published
	ds    deltaSchemas // schemas the incremental checkpoints hold
}

// NewOrder returns an Order operator.
func NewOrder(cfg OrderConfig) (*Order, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Order{cfg: cfg, clk: newClock(), pub: &published{}}
	o.clk.lateness = int64(cfg.AllowedLateness)
	o.buf.dedup.name = cfg.Dedup
	return o, nil
}

// Start takes the pipeline's allowed lateness if the config left it zero,
// refuses a dedup field the input schema lacks, and learns the pipeline's
// schemas (restored events share them) and logger.
func (o *Order) Start(_ context.Context, env stream.Env) error {
	o.clk.lateness = int64(startLateness(o.cfg.AllowedLateness, env))
	o.buf.known = env.Schemas
	o.log = newEvictionLog("order "+o.cfg.Name, env)
	return checkStart("order "+o.cfg.Name, env, nil, o.cfg.Dedup)
}

// Process buffers the events.
func (o *Order) Process(_ context.Context, in []stream.Event, out *stream.Emitter) error {
	defer o.publish()
	if o.shed.due() {
		o.shedNow(out)
	}
	cut := o.clk.cutoff()
	for i := range in {
		if in[i].Time < cut {
			o.stats.Late++
			out.Late(in[i])
			continue
		}
		o.buf.add(&in[i])
	}
	if len(o.buf.evs) > o.cfg.MaxPending {
		rp := o.buf.cutHalf()
		n := len(o.buf.evs)
		o.stats.Duplicates += o.buf.release(rp, false, func(ev *stream.Event) { o.emit(ev, out) })
		o.stats.Evictions += int64(n - len(o.buf.evs))
		o.clk.floor = max(o.clk.floor, rp)
	}
	return nil
}

// Shed asks the operator to drop a fraction (0 < fraction <= 1) of its
// state at the start of its next Process or Advance call (stream.Shedder,
// for the pipeline's memory budget): the oldest ceil(fraction × n) of its
// n buffered events are released early, in order, in that call, as when
// MaxPending is exceeded (events of one time go together); events older
// than those then become late, so the order behind it holds. They count
// in Stats.Evictions and are logged at Warn at most once a minute.
func (o *Order) Shed(fraction float64) { o.shed.ask(fraction) }

// shedNow applies the Shed request.
func (o *Order) shedNow(out *stream.Emitter) {
	k := shedCount(o.shed.take(), len(o.buf.evs))
	if k == 0 {
		return
	}
	rp := o.buf.cut(k)
	n := len(o.buf.evs)
	o.stats.Duplicates += o.buf.release(rp, false, func(ev *stream.Event) { o.emit(ev, out) })
	o.stats.Evictions += int64(n - len(o.buf.evs))
	o.clk.floor = max(o.clk.floor, rp)
	o.log.note(o.stats.Evictions, shedWhat)
}

func (o *Order) emit(ev *stream.Event, out *stream.Emitter) {
	o.stats.Emitted++
	out.Emit(*ev)
}

// Advance releases the events the watermark (minus lateness) has passed.
func (o *Order) Advance(_ context.Context, wm int64, out *stream.Emitter) error {
	defer o.publish()
	if o.shed.due() {
		o.shedNow(out)
	}
	if wm > o.clk.wm {
		o.clk.wm = wm
	}
	o.stats.Duplicates += o.buf.release(o.clk.cutoff(), o.clk.wm == stream.MaxWatermark,
		func(ev *stream.Event) { o.emit(ev, out) })
	return nil
}

// Stats returns the counters as of the end of the last call; safe to call
// from any goroutine.
func (o *Order) Stats() Stats { return o.pub.get() }

func (o *Order) publish() {
	s := o.stats
	s.Pending = int64(len(o.buf.evs))
	o.pub.set(s)
}

// Snapshot serialises the buffered events and the watermark.
func (o *Order) Snapshot() ([]byte, error) {
	e := newEncoder(snapOrder)
	e.iv(o.clk.wm)
	e.iv(o.clk.floor)
	o.buf.encode(e)
	return e.b, nil
}

// Restore replaces the state with a snapshot.
func (o *Order) Restore(data []byte) error {
	d, err := newDecoder(data, snapOrder)
	if err != nil {
		return err
	}
	wm, floor := d.iv(), d.iv()
	var buf pending
	buf.dedup.name, buf.known = o.cfg.Dedup, o.buf.known
	buf.decode(d)
	if err := d.finish(); err != nil {
		return err
	}
	o.clk.wm, o.clk.floor, o.buf = wm, floor, buf
	o.publish()
	return nil
}

// SnapshotDelta implements stream.DeltaSnapshotter: the events buffered and
// released since the last call, the watermark as the base.
func (o *Order) SnapshotDelta(d *stream.DeltaPart) ([]byte, error) {
	if d.Full || o.buf.dl == nil {
		d.Full = true
		o.ds.full()
	}
	o.buf.deltaOf(d, &o.ds)
	o.ds.flush(d)
	e := newEncoder(snapOrder)
	e.iv(o.clk.wm)
	e.iv(o.clk.floor)
	return e.b, nil
}

// RestoreDelta implements stream.DeltaSnapshotter.
func (o *Order) RestoreDelta(base []byte, entries []stream.KV) error {
	d, err := newDecoder(base, snapOrder)
	if err != nil {
		return err
	}
	wm, floor := d.iv(), d.iv()
	if err := d.finish(); err != nil {
		return err
	}
	var buf pending
	byHash, err := buf.restoreDelta(entries, o.buf.known, o.cfg.Dedup)
	if err != nil {
		return err
	}
	o.clk.wm, o.clk.floor, o.buf = wm, floor, buf
	o.ds = deltaSchemas{}
	o.ds.restored(byHash)
	o.publish()
	return nil
}
