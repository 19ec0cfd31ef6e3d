package rules

import (
	"math"
	"time"
)

// cdKey identifies a cooldown: one rule and one firing key.
type cdKey struct{ rule, key string }

// cooldowns holds, per (rule, key), the event time until which the rule may
// not fire again for that key. Entries expire once the watermark reaches
// their end: with events in event-time order they can no longer matter.
type cooldowns struct {
	until   map[cdKey]int64
	minNext int64 // lowest end among entries (a lower bound); MaxInt64 when empty
}

func newCooldowns() cooldowns {
	return cooldowns{until: map[cdKey]int64{}, minNext: math.MaxInt64}
}

func (c *cooldowns) len() int { return len(c.until) }

// allow reports whether rule may fire for key at event time t, and if so
// starts the key's cooldown period.
func (c *cooldowns) allow(rule, key string, t int64, d time.Duration) bool {
	if end, ok := c.until[cdKey{rule, key}]; ok && t < end {
		return false
	}
	c.put(rule, key, t+int64(d))
	return true
}

func (c *cooldowns) put(rule, key string, end int64) {
	c.until[cdKey{rule, key}] = end
	c.minNext = min(c.minNext, end)
}

// expire drops the entries whose end is at or before watermark.
func (c *cooldowns) expire(watermark int64) {
	if watermark < c.minNext {
		return
	}
	next := int64(math.MaxInt64)
	for k, end := range c.until {
		if end <= watermark {
			delete(c.until, k)
		} else {
			next = min(next, end)
		}
	}
	c.minNext = next
}
