package rules

import (
	"slices"
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
}

type ruleCool struct {
	ends  map[string]int64
	queue []coolEntry // firing order; may hold superseded entries
	head  int
}

type coolEntry struct {
	key string
	end int64
}

func newCooldowns() cooldowns { return cooldowns{byRule: map[string]*ruleCool{}} }

func (c *cooldowns) len() int { return c.n }

// rule returns the entries of one rule, creating them.
func (c *cooldowns) rule(name string) *ruleCool {
	r, ok := c.byRule[name]
	if !ok {
		r = &ruleCool{ends: map[string]int64{}}
		c.byRule[name] = r
	}
	return r
}

// allow reports whether a rule (its entries r) may fire for key at event
// time t, and if so starts the key's cooldown period.
func (c *cooldowns) allow(r *ruleCool, key string, t int64, d time.Duration) bool {
	end, ok := r.ends[key]
	if ok && t < end {
		return false
	}
	c.put(r, key, t+int64(d))
	return true
}

func (c *cooldowns) put(r *ruleCool, key string, end int64) {
	if _, ok := r.ends[key]; !ok {
		c.n++
	}
	r.ends[key] = end
	r.queue = append(r.queue, coolEntry{key, end})
}

// expire drops the entries whose end is at or before watermark.
func (c *cooldowns) expire(watermark int64) {
	for _, r := range c.byRule {
		for r.head < len(r.queue) && r.queue[r.head].end <= watermark {
			e := r.queue[r.head]
			if end, ok := r.ends[e.key]; ok && end == e.end { // not superseded
				delete(r.ends, e.key)
				c.n--
			}
			r.queue[r.head] = coolEntry{}
			r.head++
		}
		if r.head > 1024 && r.head > len(r.queue)/2 {
			r.queue = append(r.queue[:0], r.queue[r.head:]...)
			r.head = 0
		}
	}
}

// rebuildQueues orders each rule's queue by end (after a restore).
func (c *cooldowns) rebuildQueues() {
	for _, r := range c.byRule {
		r.queue, r.head = r.queue[:0], 0
		for k, end := range r.ends {
			r.queue = append(r.queue, coolEntry{k, end})
		}
		slices.SortFunc(r.queue, func(a, b coolEntry) int {
			if a.end != b.end {
				if a.end < b.end {
					return -1
				}
				return 1
			}
			if a.key < b.key {
				return -1
			}
			if a.key > b.key {
				return 1
			}
			return 0
		})
	}
}
