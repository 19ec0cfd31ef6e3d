package rules

import "math"

// Shed asks the engine to drop a fraction (0 < fraction <= 1) of its
// cooldown state at the start of its next Process or Advance call
// (stream.Shedder, for the pipeline's memory budget). Its only per-key
// state is the cooldowns: per rule and firing key, the event time until
// which the rule is held back. Of its n entries, ceil(fraction × n) go,
// oldest first: each rule's in firing order, and between rules the one
// whose oldest entry ends first (so, with one cooldown per rule and events
// in event-time order, the entries that end first). A key whose entry went
// may fire again within its cooldown: one more emission (an ad, an SMS)
// than the rule allows. They count in Stats.Evictions and are logged at
// Warn at most once per LogInterval. Requests between calls do not add up
// (the largest wins); a fraction above 1 means 1, at or below 0 (or NaN)
// nothing.
func (en *Engine) Shed(fraction float64) {
	if fraction > 1 {
		fraction = 1
	}
	if fraction > en.shed { // false for NaN
		en.shed = fraction
	}
}

// shedNow applies the Shed request.
func (en *Engine) shedNow() {
	f := en.shed
	en.shed = 0
	n := en.cool.len()
	if n == 0 {
		return
	}
	k := max(1, min(n, int(math.Ceil(f*float64(n)*(1-1e-12))))) // 0.7 × 10 is 7.000000000000001
	dropped := en.cool.shed(k)
	total := en.evictions.Add(int64(dropped))
	en.coolSize.Store(int64(en.cool.len()))
	now := en.clock.Now().UnixNano()
	if en.shedLogAt != 0 && now-en.shedLogAt < int64(en.cfg.LogInterval) {
		return
	}
	en.cfg.Logger.Warn("cooldowns shed for the memory budget: their keys may fire again within their cooldown",
		"dropped", dropped, "evictions_total", total, "since_last_log", total-en.shedLogged, "held", en.cool.len())
	en.shedLogAt, en.shedLogged = now, total
}
