package window

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// SessionConfig configures session windows: a key's events closer than Gap
// to each other form one session [first, last+Gap). An event exactly Gap
// after the last one starts a new session.
type SessionConfig struct {
	WindowConfig
	Gap time.Duration // required
}

// Sessions is a session window operator. A session fires when the watermark
// reaches last event + Gap. A late event (within the allowed lateness) that
// extends or bridges fired sessions re-fires the merged session with Update
// set; its Start is the earliest start of the sessions it merged.
type Sessions struct {
	base
	lateness time.Duration
	gap      int64
	byKey    [][]int32 // live sessions per key slot
}

// NewSessions returns a session window operator.
func NewSessions(cfg SessionConfig) (*Sessions, error) {
	cfg.setDefaults()
	errs := cfg.check()
	if cfg.Gap <= 0 {
		errs = append(errs, errors.New("Gap must be positive"))
	}
	if err := configErr("session "+cfg.Name, errs); err != nil {
		return nil, err
	}
	s := &Sessions{base: newBase(cfg.WindowConfig, KindSession),
		lateness: cfg.AllowedLateness, gap: int64(cfg.Gap)}
	s.onKill = s.unindex
	return s, nil
}

// Start takes the pipeline's allowed lateness if the config left it zero,
// and refuses key and dedup fields the input schema lacks.
func (s *Sessions) Start(_ context.Context, env stream.Env) error {
	s.clk.lateness = int64(startLateness(s.lateness, env))
	return s.start(env)
}

func (s *Sessions) unindex(i int32) {
	if k := s.wins[i].key; int(k) < len(s.byKey) {
		if j := slices.Index(s.byKey[k], i); j >= 0 {
			s.byKey[k] = slices.Delete(s.byKey[k], j, j+1)
		}
	}
}

// Process adds the events to their sessions, merging sessions an event
// bridges.
func (s *Sessions) Process(_ context.Context, in []stream.Event, out *stream.Emitter) error {
	defer s.publish()
	if s.shed.due() {
		s.shedNow(out)
	}
	for i := range in {
		ev := &in[i]
		if err := s.checkKey(ev); err != nil {
			return err
		}
		if !keyed(&s.kf, s.nkey, ev, out, &s.stats, s.kind, s.name) {
			continue
		}
		if !s.admit(ev, out) {
			continue
		}
		k := s.key(ev, out)
		if int(k) >= len(s.byKey) {
			s.byKey = append(s.byKey, make([][]int32, s.keys.slots()-len(s.byKey))...)
		}
		s.addEvent(k, ev)
	}
	s.flush(out)
	return nil
}

// Shed asks the operator to drop a fraction (0 < fraction <= 1) of its
// state at the start of its next Process or Advance call (stream.Shedder,
// for the pipeline's memory budget): ceil(fraction × n) of its n live
// sessions are evicted as MaxKeys evicts them, the earliest pending action
// first: a session not fired yet fires early, in that call, with what it
// holds so far (a later event of its key within Gap starts a new session,
// not marked Update: consumers see the session split in two), and a fired
// session kept for its lateness is dropped (a late event opens a new
// session instead of updating it). Then ceil(fraction × m) of its m
// remembered dedup ids are forgotten, earliest arrivals first: a
// re-delivery of one of them counts again. Both count in Stats.Evictions
// and are logged at Warn at most once a minute.
func (s *Sessions) Shed(fraction float64) { s.shed.ask(fraction) }

func (s *Sessions) addEvent(k int32, ev *stream.Event) {
	start, end := ev.Time, add(ev.Time, s.gap)
	target := int32(-1)
	for _, j := range s.byKey[k] {
		if w := &s.wins[j]; ev.Time < w.end && w.start < end {
			target = j
			break
		}
	}
	if target < 0 {
		target = s.newWin(k, start, end)
		s.byKey[k] = append(s.byKey[k], target)
		s.agg.add(&s.wins[target].acc, ev)
		if end <= s.clk.wm {
			s.touched(target)
		}
		return
	}
	w := &s.wins[target]
	s.agg.add(&w.acc, ev)
	w.start, w.end = min(w.start, start), max(w.end, end)
	// The grown session may now overlap others of the key: merge them in.
	for merged := true; merged; {
		merged = false
		for _, j := range s.byKey[k] {
			o := &s.wins[j]
			if j == target || !(o.start < w.end && w.start < o.end) {
				continue
			}
			s.agg.merge(&w.acc, &o.acc)
			w.start, w.end = min(w.start, o.start), max(w.end, o.end)
			w.emitted = w.emitted || o.emitted
			s.kill(j)
			merged = true
			break
		}
	}
	if w.emitted {
		w.dirty = true
	}
	s.schedule(target)
	if w.end <= s.clk.wm {
		s.touched(target)
	}
}

// Advance fires and purges sessions.
func (s *Sessions) Advance(_ context.Context, wm int64, out *stream.Emitter) error {
	defer s.publish()
	if s.shed.due() {
		s.shedNow(out)
	}
	s.advance(wm, out)
	return nil
}

// Stats returns the counters as of the end of the last call; safe to call
// from any goroutine.
func (s *Sessions) Stats() Stats { return s.pub.get() }

// Snapshot serialises the watermark, dedup ids and live sessions.
func (s *Sessions) Snapshot() ([]byte, error) {
	e := newEncoder(snapSession)
	e.iv(s.gap)
	s.encode(e)
	return e.b, nil
}

// Restore replaces the state with a snapshot taken with the same Gap.
func (s *Sessions) Restore(data []byte) error {
	d, err := newDecoder(data, snapSession)
	if err != nil {
		return err
	}
	if d.iv() != s.gap {
		d.fail("snapshot of sessions with another gap")
	}
	n := &Sessions{base: s.fresh(),
		lateness: s.lateness, gap: s.gap}
	n.decode(d, n.index)
	if err := d.finish(); err != nil {
		return err
	}
	n.stats = s.stats
	*s = *n
	s.publish()
	s.onKill = s.unindex
	return nil
}

// index adds a restored session i to its key's, refusing one that
// overlaps another.
func (s *Sessions) index(d *decoder, i int32) {
	w := &s.wins[i]
	if int(w.key) >= len(s.byKey) {
		s.byKey = append(s.byKey, make([][]int32, s.keys.slots()-len(s.byKey))...)
	}
	for _, j := range s.byKey[w.key] {
		if o := &s.wins[j]; o.start < w.end && w.start < o.end {
			d.fail("overlapping sessions")
		}
	}
	s.byKey[w.key] = append(s.byKey[w.key], i)
}
