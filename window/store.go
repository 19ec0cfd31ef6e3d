package window

import (
	"cmp"
	"slices"

	"github.com/rulestream/rulestream/stream"
)

// win is one window of one key.
type win struct {
	key        int32
	start, end int64
	acc        acc
	live       bool
	emitted    bool   // a result went out
	dirty      bool   // changed since the last result
	queued     bool   // in base.due
	next       int32  // next window of the same key, -1 at the end
	ver        uint32 // invalidates older heap entries
}

// action is a heap entry: at watermark at, fire (or purge) window w.
type action struct {
	at  int64
	w   int32
	ver uint32
}

// base is the state shared by the time and session window operators:
// interned keys, a slab of windows, a heap of firing and purge times, and
// the dedup ids.
type base struct {
	cfg        WindowConfig
	name, kind string
	nkey       int
	maxKeys    int
	agg        aggregator
	clk        clock
	kf         keyFields
	keys       *keyTable
	refs       []int32 // live windows per key slot
	head       []int32 // per key slot: first window of its list (win.next), -1 if none
	wins       []win
	free       []int32
	heap       []action
	ids        *idSet // nil without dedup
	idField    fieldRef
	due        []int32 // windows to emit at the end of this call
	onKill     func(i int32)
	shed       shedRequest
	log        evictionLog // of shedding only
	stats      Stats
	pub        *published
	keySchema  *stream.Schema // of the results' fields (the key's); set at Start or by the first event
	dk         *keyDelta      // incremental checkpoints: the keys whose windows changed, nil before the first
}

func newBase(cfg WindowConfig, kind string) base {
	b := base{cfg: cfg, name: cfg.Name, kind: kind, nkey: len(cfg.KeyBy), maxKeys: cfg.MaxKeys, agg: newAggregator(cfg.Aggs),
		clk: newClock(), kf: newKeyFields(cfg.KeyBy), keys: newKeyTable(), idField: fieldRef{name: cfg.Dedup}, pub: &published{}}
	b.clk.lateness = int64(cfg.AllowedLateness)
	if cfg.Dedup != "" {
		b.ids = newIDSet(cfg.MaxIDs)
	}
	return b
}

// fresh returns an empty base of the same configuration and lateness, for
// a restore: its dedup ids' eviction count carries over, as the counters do.
func (b *base) fresh() base {
	n := newBase(b.cfg, b.kind)
	n.clk.lateness, n.pub, n.keySchema, n.shed, n.log = b.clk.lateness, b.pub, b.keySchema, b.shed, b.log
	if n.ids != nil && b.ids != nil {
		n.ids.evictions = b.ids.evictions
	}
	return n
}

// admit checks lateness and duplicates; it reports whether ev counts.
func (b *base) admit(ev *stream.Event, out *stream.Emitter) bool {
	if !inRange(ev, out, &b.stats, b.kind, b.name) {
		return false
	}
	if ev.Time < b.clk.cutoff() {
		b.stats.Late++
		out.Late(*ev)
		return false
	}
	if b.ids != nil {
		if id := b.idField.get(ev); !id.IsNull() && b.ids.seen(id, ev.Time) {
			b.stats.Duplicates++
			return false
		}
	}
	return true
}

// start checks the fields the window reads against the input schema,
// types its results' key fields and takes the pipeline's logger.
func (b *base) start(env stream.Env) error {
	b.log = newEvictionLog(b.kind+" "+b.name, env)
	if err := checkStart(b.kind+" "+b.name, env, b.cfg.KeyBy, b.cfg.Dedup); err != nil {
		return err
	}
	if env.Schema != nil {
		b.keySchema = keySchema(b.name, b.cfg.KeyBy, env.Schema)
	}
	return nil
}

// checkKey refuses an event whose schema lacks a key field.
func (b *base) checkKey(ev *stream.Event) error {
	if err := b.kf.check(ev, b.kind, b.name); err != nil {
		return err
	}
	if b.keySchema == nil {
		b.keySchema = keySchema(b.name, b.cfg.KeyBy, ev.Schema)
	}
	return nil
}

// key returns the slot of ev's key, interning it (and evicting under the
// MaxKeys bound) when new.
func (b *base) key(ev *stream.Event, out *stream.Emitter) int32 {
	vals := b.kf.values(ev)
	if s, _ := b.keys.find(vals, false); s >= 0 {
		b.dk.slot(s) // the event changes the key's windows
		return s
	}
	for b.keys.live >= b.maxKeys && b.evictOne(out) {
	}
	s, _ := b.keys.find(vals, true)
	b.ensureKey(s)
	b.dk.slot(s)
	return s
}

// ensureKey grows the per-key arrays to cover slot s.
func (b *base) ensureKey(s int32) {
	for int(s) >= len(b.refs) {
		b.refs = append(b.refs, 0)
		b.head = append(b.head, -1)
	}
}

func (b *base) newWin(key int32, start, end int64) int32 {
	var i int32
	if n := len(b.free); n > 0 {
		i = b.free[n-1]
		b.free = b.free[:n-1]
	} else {
		i = int32(len(b.wins))
		b.wins = append(b.wins, win{})
	}
	w := &b.wins[i]
	*w = win{key: key, start: start, end: end, live: true, ver: w.ver + 1, next: b.head[key]}
	b.head[key] = i
	b.refs[key]++
	b.dk.slot(key)
	b.schedule(i)
	return i
}

// schedule pushes the window's next action: firing at its end, or, once
// its result is out, purging when the watermark passes end + lateness.
func (b *base) schedule(i int32) {
	w := &b.wins[i]
	w.ver++
	at := w.end
	if w.emitted && !w.dirty {
		at = add(w.end, b.clk.lateness)
	}
	b.push(action{at: at, w: i, ver: w.ver})
}

// touched notes that a late event changed a window the watermark has passed.
func (b *base) touched(i int32) {
	w := &b.wins[i]
	b.dk.slot(w.key)
	if w.emitted {
		w.dirty = true
	}
	if w.end <= b.clk.wm && !w.queued {
		w.queued = true
		b.due = append(b.due, i)
	}
}

// kill drops a window (purged, evicted or merged away).
func (b *base) kill(i int32) {
	w := &b.wins[i]
	if b.onKill != nil {
		b.onKill(i)
	}
	if w.queued {
		b.due = slices.DeleteFunc(b.due, func(x int32) bool { return x == i })
	}
	if b.head[w.key] == i {
		b.head[w.key] = w.next
	} else {
		for j := b.head[w.key]; j >= 0; j = b.wins[j].next {
			if b.wins[j].next == i {
				b.wins[j].next = w.next
				break
			}
		}
	}
	w.live = false
	w.ver++
	w.acc = acc{}
	b.free = append(b.free, i)
	b.refs[w.key]--
	if b.refs[w.key] == 0 {
		b.dk.freed(entKey, b.keys, w.key)
		b.keys.remove(w.key)
		b.stats.Expired++
	} else {
		b.dk.slot(w.key)
	}
}

// flush emits the due windows in deterministic order: end, key, start.
func (b *base) flush(out *stream.Emitter) {
	if len(b.due) == 0 {
		return
	}
	slices.SortFunc(b.due, func(x, y int32) int {
		wx, wy := &b.wins[x], &b.wins[y]
		return cmp.Or(cmp.Compare(wx.end, wy.end), b.keys.compare(wx.key, wy.key), cmp.Compare(wx.start, wy.start))
	})
	for _, i := range b.due {
		b.wins[i].queued = false
		b.emit(i, out)
		b.schedule(i)
	}
	b.due = b.due[:0]
}

func (b *base) emit(i int32, out *stream.Emitter) {
	w := &b.wins[i]
	key := b.keys.keyString(w.key, b.nkey)
	info := &stream.WindowInfo{
		Name: b.name, Kind: b.kind, Key: key, Start: w.start, End: w.end,
		Count: w.acc.count, First: w.acc.first, Last: w.acc.last,
		Aggs: b.agg.results(&w.acc), Update: w.emitted,
	}
	w.emitted, w.dirty = true, false
	b.dk.slot(w.key)
	b.stats.Emitted++
	res := stream.Event{Key: key, Time: w.end - 1, Pos: stream.Position{Source: b.name, Partition: -1}, Window: info}
	if b.keySchema != nil {
		res.Schema, res.Fields = b.keySchema, b.keys.keyValues(w.key, b.nkey)
	}
	out.Emit(res)
}
