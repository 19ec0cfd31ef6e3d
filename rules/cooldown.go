package rules

import (
	"container/heap"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cooldowns holds, per rule name and firing key, the event time until which
// the rule may not fire again for that key. Entries expire once the
// watermark reaches their end: with events in event-time order they can no
// longer matter.
//
// Each rule also keeps its entries in firing order. With events in
// event-time order and one cooldown per rule, ends grow along that queue,
// so expiry pops from its front: the cost is proportional to what expires,
// not to what is held. (Out-of-order events or a changed cooldown only make
// some entries expire later than they could.)
type cooldowns struct {
	byRule map[string]*ruleCool
	n      int
	gen    int // changes when byRule is replaced (Restore)
	// dirty holds the entries changed since the last incremental
	// checkpoint; nil before the first (nothing is tracked).
	dirty map[dirtyCool]struct{}
}

// dirtyCool names a changed entry.
type dirtyCool struct {
	rule string
	key  coolKey
}

// touch records that an entry changed.
func (c *cooldowns) touch(rule *ruleCool, key coolKey) {
	if c.dirty != nil {
		c.dirty[dirtyCool{rule.name, key}] = struct{}{}
	}
}

type ruleCool struct {
	name  string
	ends  map[string]int64 // keys that are not canonical decimal ints
	ints  map[int64]int64  // the others, by value: no string hashing
	queue []coolEntry      // firing order; may hold superseded entries
	head  int
}

type coolEntry struct {
	key coolKey
	end int64
}

// coolKey is a firing key: its integer when its text is a canonical
// decimal int64 (a numeric user or account id), else its text. A key has one
// form whatever produced its text.
type coolKey struct {
	s     string // when !isInt
	n     int64
	isInt bool
}

func textKey(s string) coolKey {
	if n, ok := canonicalInt(s); ok {
		return coolKey{n: n, isInt: true}
	}
	return coolKey{s: s}
}

// canonicalInt parses s if strconv.FormatInt would print it so.
func canonicalInt(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	d := s
	if d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || (d[0] == '0' && len(s) > 1) {
		return 0, false // "", "-", leading zeros, "-0"
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// text is the key's text.
func (k coolKey) text() string {
	if k.isInt {
		return strconv.FormatInt(k.n, 10)
	}
	return k.s
}

func (r *ruleCool) get(k coolKey) (int64, bool) {
	if k.isInt {
		end, ok := r.ints[k.n]
		return end, ok
	}
	end, ok := r.ends[k.s]
	return end, ok
}

func (r *ruleCool) set(k coolKey, end int64) {
	if k.isInt {
		r.ints[k.n] = end
	} else {
		r.ends[k.s] = end
	}
}

func (r *ruleCool) del(k coolKey) {
	if k.isInt {
		delete(r.ints, k.n)
	} else {
		delete(r.ends, k.s)
	}
}

func newCooldowns() cooldowns { return cooldowns{byRule: map[string]*ruleCool{}} }

func (c *cooldowns) len() int { return c.n }

// rule returns the entries of one rule, creating them.
func (c *cooldowns) rule(name string) *ruleCool {
	r, ok := c.byRule[name]
	if !ok {
		r = &ruleCool{name: name, ends: map[string]int64{}, ints: map[int64]int64{}}
		c.byRule[name] = r
	}
	return r
}

// allow reports whether a rule (its entries r) may fire for key at event
// time t, and if so starts the key's cooldown period.
func (c *cooldowns) allow(r *ruleCool, key coolKey, t int64, d time.Duration) bool {
	end, ok := r.get(key)
	if ok && t < end {
		return false
	}
	if !ok {
		c.n++
	}
	end = t + int64(d)
	if end < t { // past the largest time (2262): the cooldown lasts to the end
		end = math.MaxInt64
	}
	r.set(key, end)
	c.touch(r, key)
	r.queue = append(r.queue, coolEntry{key, end})
	return true
}

// expire drops the entries whose end is at or before watermark.
func (c *cooldowns) expire(watermark int64) {
	for _, r := range c.byRule {
		for r.head < len(r.queue) && r.queue[r.head].end <= watermark {
			e := r.queue[r.head]
			if end, ok := r.get(e.key); ok && end == e.end { // not superseded
				r.del(e.key)
				c.touch(r, e.key)
				c.n--
			}
			r.queue[r.head] = coolEntry{}
			r.head++
		}
		r.compact()
	}
}

// compact moves the queue to the front of its array once most of it was
// popped.
func (r *ruleCool) compact() {
	if r.head > 1024 && r.head > len(r.queue)/2 {
		r.queue = append(r.queue[:0], r.queue[r.head:]...)
		r.head = 0
	}
}

// front pops the superseded entries at the front of the queue and reports
// whether an entry is left: then the front is the oldest live one.
func (r *ruleCool) front() bool {
	for r.head < len(r.queue) {
		e := r.queue[r.head]
		if end, ok := r.get(e.key); ok && end == e.end {
			return true
		}
		r.queue[r.head] = coolEntry{}
		r.head++
	}
	return false
}

// shed drops up to k entries, oldest first, and returns how many it
// dropped: each rule's in firing order (its queue), and between rules the
// one whose oldest entry ends first (ties by rule name). With events in
// event-time order and one cooldown per rule, these are the k entries that
// end first.
func (c *cooldowns) shed(k int) int {
	h := &coolHeads{}
	for name, r := range c.byRule {
		if r.front() {
			h.rs = append(h.rs, coolHead{name, r})
		}
	}
	heap.Init(h)
	n := 0
	for ; n < k && len(h.rs) > 0; n++ {
		r := h.rs[0].r
		e := r.queue[r.head]
		r.del(e.key)
		c.touch(r, e.key)
		c.n--
		r.queue[r.head] = coolEntry{}
		r.head++
		if r.front() {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	for _, r := range c.byRule {
		r.compact()
	}
	return n
}

// coolHeads is a heap of rules by the end of their oldest entry, then name.
type coolHeads struct{ rs []coolHead }

type coolHead struct {
	name string
	r    *ruleCool
}

func (h *coolHeads) Len() int { return len(h.rs) }
func (h *coolHeads) Less(i, j int) bool {
	a, b := h.rs[i], h.rs[j]
	ea, eb := a.r.queue[a.r.head].end, b.r.queue[b.r.head].end
	return ea < eb || ea == eb && a.name < b.name
}
func (h *coolHeads) Swap(i, j int) { h.rs[i], h.rs[j] = h.rs[j], h.rs[i] }
func (h *coolHeads) Push(x any)    { h.rs = append(h.rs, x.(coolHead)) }
func (h *coolHeads) Pop() any {
	x := h.rs[len(h.rs)-1]
	h.rs = h.rs[:len(h.rs)-1]
	return x
}

// rebuildQueues orders each rule's queue by end (after a restore).
func (c *cooldowns) rebuildQueues() {
	for _, r := range c.byRule {
		r.queue, r.head = r.queue[:0], 0
		for k, end := range r.ends {
			r.queue = append(r.queue, coolEntry{coolKey{s: k}, end})
		}
		for n, end := range r.ints {
			r.queue = append(r.queue, coolEntry{coolKey{n: n, isInt: true}, end})
		}
		slices.SortFunc(r.queue, func(a, b coolEntry) int {
			if a.end != b.end {
				if a.end < b.end {
					return -1
				}
				return 1
			}
			return strings.Compare(a.key.text(), b.key.text())
		})
	}
}
