package rules

import (
	"slices"
	"sync/atomic"
)

// ruleCounters are the live counters of one rule name; they survive swaps.
// Process counts in local (its goroutine only) and publishes the batch's
// counts to the atomics at the end of the batch, for Stats.
type ruleCounters struct {
	evals, firings, suppressed, skipped, errors atomic.Int64
	lastLog, loggedErrs                         atomic.Int64
	local                                       struct{ evals, firings, suppressed, skipped int64 }
}

func (c *ruleCounters) publish() {
	l := &c.local
	if l.evals != 0 {
		c.evals.Add(l.evals)
	}
	if l.firings != 0 {
		c.firings.Add(l.firings)
	}
	if l.suppressed != 0 {
		c.suppressed.Add(l.suppressed)
	}
	if l.skipped != 0 {
		c.skipped.Add(l.skipped)
	}
	*l = struct{ evals, firings, suppressed, skipped int64 }{}
}

// RuleStats are the counters of one rule since the engine started.
type RuleStats struct {
	Rule        string
	Evaluations int64 // conditions evaluated
	Firings     int64 // emissions
	Suppressed  int64 // true conditions held back by the cooldown
	Skipped     int64 // events lacking a record the rule reads (an unknown id...)
	Errors      int64 // runtime errors (condition or payload)
}

// Stats is a snapshot of an engine's counters.
type Stats struct {
	Version   string      // live rule-set version
	Reloads   int64       // sets swapped in after the first
	Rejected  int64       // invalid sets rejected by Reload
	Cooldowns int64       // cooldown entries held
	Evictions int64       // cooldown entries shed for the memory budget (see Engine.Shed)
	Rules     []RuleStats // every rule name seen, sorted by name
}

// Stats returns the engine's counters. Safe to call while running.
func (en *Engine) Stats() Stats {
	en.mu.Lock()
	defer en.mu.Unlock()
	s := Stats{Version: en.Live().version, Reloads: en.reloads.Load(), Rejected: en.rejected.Load(),
		Cooldowns: en.coolSize.Load(), Evictions: en.evictions.Load()}
	for name, c := range en.counters {
		s.Rules = append(s.Rules, RuleStats{Rule: name, Evaluations: c.evals.Load(), Firings: c.firings.Load(),
			Suppressed: c.suppressed.Load(), Skipped: c.skipped.Load(), Errors: c.errors.Load()})
	}
	slices.SortFunc(s.Rules, func(a, b RuleStats) int {
		if a.Rule < b.Rule {
			return -1
		}
		if a.Rule > b.Rule {
			return 1
		}
		return 0
	})
	return s
}

// Rule returns the counters of one rule (zero when unknown).
func (s Stats) Rule(name string) RuleStats {
	for _, r := range s.Rules {
		if r.Rule == name {
			return r
		}
	}
	return RuleStats{Rule: name}
}
