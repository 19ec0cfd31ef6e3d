package rules

import (
	"math"
	"time"
)

// cooldowns holds, per rule name and firing key, the event time until which
// the rule may not fire again for that key. Entries expire once the
// watermark reaches their end: with events in event-time order they can no
// longer matter.
type cooldowns struct {
	byRule  map[string]map[string]int64
	n       int
	minNext int64 // lowest end among entries (a lower bound); MaxInt64 when empty
	gen     int   // changes when byRule is replaced (Restore)
}

func newCooldowns() cooldowns {
	return cooldowns{byRule: map[string]map[string]int64{}, minNext: math.MaxInt64}
}

func (c *cooldowns) len() int { return c.n }

// rule returns the entries of one rule, creating them.
func (c *cooldowns) rule(name string) map[string]int64 {
	m, ok := c.byRule[name]
	if !ok {
		m = map[string]int64{}
		c.byRule[name] = m
	}
	return m
}

// allow reports whether a rule (its entries m) may fire for key at event
// time t, and if so starts the key's cooldown period.
func (c *cooldowns) allow(m map[string]int64, key string, t int64, d time.Duration) bool {
	end, ok := m[key]
	if ok && t < end {
		return false
	}
	if !ok {
		c.n++
	}
	m[key] = t + int64(d)
	c.minNext = min(c.minNext, t+int64(d))
	return true
}

// expire drops the entries whose end is at or before watermark.
func (c *cooldowns) expire(watermark int64) {
	if watermark < c.minNext {
		return
	}
	next := int64(math.MaxInt64)
	for _, m := range c.byRule {
		for k, end := range m {
			if end <= watermark {
				delete(m, k)
				c.n--
			} else {
				next = min(next, end)
			}
		}
	}
	c.minNext = next
}
