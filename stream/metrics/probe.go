package metrics

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// ProbeConfig configures a Probe. Zero values mean the defaults.
type ProbeConfig struct {
	// Every is how often Run probes. Default 1s.
	Every time.Duration
	// Timeout bounds one probe. Default Every.
	Timeout time.Duration
	// Clock paces the probes. Default: the system clock.
	Clock stream.Clock
	// OnProbe, if set, is called after each probe with its outcome (tests
	// wait on it).
	OnProbe func(err error)
}

func (c *ProbeConfig) setDefaults() {
	if c.Every <= 0 {
		c.Every = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = c.Every
	}
	if c.Clock == nil {
		c.Clock = stream.SystemClock{}
	}
}

// Probe checks a dependency actively (a Redis PING), on a timer, so that
// health reports it down within Every plus Timeout of its failure, not only
// when the pipeline next needs it. Run probes; Check, a health Check,
// reports the latest outcome.
type Probe struct {
	probe func(ctx context.Context) error
	cfg   ProbeConfig

	mu   sync.Mutex
	err  error
	at   time.Time // when the latest probe ended
	done bool      // a probe ended
}

// NewProbe returns a probe calling probe (e.g. a Redis client's Ping).
func NewProbe(probe func(ctx context.Context) error, cfg ProbeConfig) (*Probe, error) {
	if probe == nil {
		return nil, errors.New("metrics: NewProbe needs a probe function")
	}
	cfg.setDefaults()
	return &Probe{probe: probe, cfg: cfg}, nil
}

// Run probes at once, then every Every, until ctx ends; it returns
// ctx.Err().
func (p *Probe) Run(ctx context.Context) error {
	tick, stop := p.cfg.Clock.NewTicker(p.cfg.Every)
	defer stop()
	for {
		p.Probe(ctx)
		select {
		case <-tick:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Probe probes once, under Timeout, and records the outcome.
func (p *Probe) Probe(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	err := p.probe(pctx)
	cancel()
	if ctx.Err() != nil {
		return // stopping: not the dependency's failure
	}
	p.mu.Lock()
	p.err, p.at, p.done = err, p.cfg.Clock.Now(), true
	p.mu.Unlock()
	if p.cfg.OnProbe != nil {
		p.cfg.OnProbe(err)
	}
}

// Check returns the latest probe's error, saying when it failed; nil
// before the first probe ended.
func (p *Probe) Check(time.Time) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.done || p.err == nil {
		return nil
	}
	return fmt.Errorf("probe failed at %s: %w", p.at.UTC().Format(time.RFC3339), p.err)
}
