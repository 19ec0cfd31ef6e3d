package enrich

import (
	"time"
)

// Health is the state of a Lookup's link to Redis.
type Health struct {
	// Degraded is true while fetches fail and are being retried.
	Degraded bool
	// Since is when the current state began.
	Since time.Time
	// Err is the last error while degraded (never holding a password).
	Err string
	// Retries counts the retries of the current degraded spell.
	Retries int
}

// Health reports whether the lookup can reach Redis. It is safe to call from
// any goroutine.
func (l *Lookup) Health() Health { return *l.health.Load() }

func (l *Lookup) setDegraded(err error, attempt int) {
	h := l.health.Load()
	nh := &Health{Degraded: true, Since: h.Since, Err: err.Error(), Retries: attempt + 1}
	if !h.Degraded {
		nh.Since = l.cfg.Clock.Now()
		l.cfg.Logger.Warn("enrich: redis unreachable, retrying (batch held back)", "lookup", l.cfg.Name, "err", err)
	}
	l.health.Store(nh)
	if !h.Degraded && l.cfg.OnHealth != nil {
		l.cfg.OnHealth(*nh)
	}
}

func (l *Lookup) setHealthy() {
	h := l.health.Load()
	if !h.Degraded {
		return
	}
	nh := &Health{Since: l.cfg.Clock.Now()}
	l.health.Store(nh)
	l.cfg.Logger.Info("enrich: redis reachable again", "lookup", l.cfg.Name, "retries", h.Retries, "down", nh.Since.Sub(h.Since))
	if l.cfg.OnHealth != nil {
		l.cfg.OnHealth(*nh)
	}
}
