package window

import (
	"cmp"
	"slices"

	"github.com/rulestream/rulestream/stream"
)

func (b *base) push(a action) {
	b.heap = append(b.heap, a)
	i := len(b.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if b.heap[p].at <= b.heap[i].at {
			break
		}
		b.heap[p], b.heap[i] = b.heap[i], b.heap[p]
		i = p
	}
}

func (b *base) pop() action {
	top := b.heap[0]
	n := len(b.heap) - 1
	b.heap[0] = b.heap[n]
	b.heap = b.heap[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && b.heap[r].at < b.heap[l].at {
			m = r
		}
		if b.heap[i].at <= b.heap[m].at {
			break
		}
		b.heap[i], b.heap[m] = b.heap[m], b.heap[i]
		i = m
	}
	return top
}

// advance fires the windows whose end the watermark passed and purges those
// that can no longer change (end + lateness passed).
func (b *base) advance(wm int64, out *stream.Emitter) {
	if wm > b.clk.wm {
		b.clk.wm = wm
	}
	if b.ids != nil {
		b.ids.expire(b.clk.cutoff())
	}
	for {
		for len(b.heap) > 0 && b.heap[0].at <= b.clk.wm {
			a := b.pop()
			w := &b.wins[a.w]
			if !w.live || w.ver != a.ver {
				continue
			}
			if !w.emitted || w.dirty {
				if !w.queued {
					w.queued = true
					b.due = append(b.due, a.w)
				}
				continue
			}
			b.kill(a.w)
		}
		if len(b.due) == 0 {
			break
		}
		b.flush(out)
	}
	b.compactHeap()
}

// compactHeap drops stale entries when they make up most of the heap.
func (b *base) compactHeap() {
	live := len(b.wins) - len(b.free)
	if len(b.heap) < 1024 || len(b.heap) < 4*live {
		return
	}
	kept := b.heap[:0]
	for _, a := range b.heap {
		if w := &b.wins[a.w]; w.live && w.ver == a.ver {
			kept = append(kept, a)
		}
	}
	b.heap = kept
	slices.SortFunc(b.heap, func(x, y action) int { return cmp.Compare(x.at, y.at) }) // a sorted slice is a heap
}

// evictOne drops the window with the earliest action, emitting it first if
// its result is not out yet. It reports whether it dropped one.
func (b *base) evictOne(out *stream.Emitter) bool {
	for len(b.heap) > 0 {
		a := b.pop()
		w := &b.wins[a.w]
		if !w.live || w.ver != a.ver {
			continue
		}
		b.evict(a.w, out)
		return true
	}
	return false
}

// evict drops window i, emitting it first if its result is not out yet.
func (b *base) evict(i int32, out *stream.Emitter) {
	if w := &b.wins[i]; !w.emitted || w.dirty {
		b.emit(i, out)
	}
	b.stats.Evictions++
	b.kill(i)
}

// shedNow applies a Shed request: ceil(fraction × n) of the n live windows
// are evicted by evictOne (the earliest pending action first: a window
// whose result is not out fires early; among equal action times, the
// heap's order), then ceil(fraction × m) of the m remembered dedup ids are
// forgotten, earliest arrivals first.
func (b *base) shedNow(out *stream.Emitter) {
	f := b.shed.take()
	for range shedCount(f, len(b.wins)-len(b.free)) {
		b.evictOne(out)
	}
	total := b.stats.Evictions
	if b.ids != nil {
		b.ids.shed(shedCount(f, b.ids.len()))
		total += b.ids.evictions
	}
	b.log.note(total, shedWhat)
}

func (b *base) publish() {
	s := b.stats
	s.ActiveKeys = int64(b.keys.live)
	if b.ids != nil {
		s.Evictions += b.ids.evictions
	}
	b.pub.set(s)
}

// encode writes the watermark, the dedup ids and the live windows in a
// deterministic order.
func (b *base) encode(e *encoder) {
	e.iv(b.clk.wm)
	e.boolean(b.ids != nil)
	if b.ids != nil {
		b.ids.encode(e)
	}
	live := make([]int32, 0, len(b.wins)-len(b.free))
	for i := range b.wins {
		if b.wins[i].live {
			live = append(live, int32(i))
		}
	}
	slices.SortFunc(live, func(x, y int32) int {
		wx, wy := &b.wins[x], &b.wins[y]
		return cmp.Or(b.keys.compare(wx.key, wy.key), cmp.Compare(wx.start, wy.start))
	})
	e.uv(uint64(len(live)))
	for _, i := range live {
		b.keys.writeKey(e, b.wins[i].key)
		b.encodeWin(e, i)
	}
}

// encodeWin writes window i (after its key).
func (b *base) encodeWin(e *encoder, i int32) {
	w := &b.wins[i]
	e.iv(w.start)
	e.iv(w.end)
	e.boolean(w.emitted)
	e.boolean(w.dirty)
	b.agg.encode(e, &w.acc)
}

// decodeWin reads what encodeWin wrote into a new window of key, and
// returns it (-1 on error).
func (b *base) decodeWin(d *decoder, key int32) int32 {
	start, end, emitted, dirty := d.iv(), d.iv(), d.boolean(), d.boolean()
	a := b.agg.decode(d)
	if d.err != nil {
		return -1
	}
	if end < start || a.count <= 0 {
		d.fail("bad window")
		return -1
	}
	b.ensureKey(key)
	i := b.newWin(key, start, end)
	w := &b.wins[i]
	w.acc, w.emitted, w.dirty = a, emitted, dirty
	b.schedule(i)
	return i
}

// decode reads what encode wrote into an empty base, calling add for each
// window so the operator can index (and check) it.
func (b *base) decode(d *decoder, add func(d *decoder, i int32)) {
	b.clk.wm = d.iv()
	if d.boolean() != (b.ids != nil) && d.err == nil {
		d.fail("dedup setting differs from the snapshot")
	}
	if b.ids != nil {
		b.ids.max = int(^uint(0) >> 1)
		b.ids.decode(d)
		b.ids.max = b.cfg.MaxIDs
	}
	n := d.count()
	for k := 0; k < n && d.err == nil; k++ {
		key := b.keys.readKey(d)
		if d.err != nil {
			return
		}
		if i := b.decodeWin(d, key); i >= 0 {
			add(d, i)
		}
	}
}
