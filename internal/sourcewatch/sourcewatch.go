// Package sourcewatch wires the per-source silence alerts into the
// binaries (cmd/rulestream, examples/musicstream): the -silence and
// -alert-webhook flags, a metrics.SourceMonitor over a pipeline's sources,
// and an alert.Outbox delivering each alert to the Redis stream
// queue:alerts and, with -alert-webhook, to a webhook. See docs/alerts.md.
package sourcewatch

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/alert"
	"github.com/rulestream/rulestream/stream/metrics"
)

// AlertsKey is the Redis stream each alert is appended to (after the
// job's key prefix): a contract name.
const AlertsKey = "queue:alerts"

// alertsMaxLen bounds queue:alerts (approximately, MAXLEN ~).
const alertsMaxLen = 100000

// Options are the flags, and what tests inject.
type Options struct {
	// Silence is the span each source is judged over (-silence); 0 turns
	// the per-source watch off.
	Silence time.Duration
	// Webhook, when set, is POSTed each alert as JSON (-alert-webhook).
	Webhook string

	// Monitor is the base of the monitor's configuration (tests: a clock,
	// OnObserve, Every); its Span is Silence.
	Monitor metrics.SourceConfig
	// Outbox configures the delivery (tests: a clock, backoff).
	Outbox alert.OutboxConfig
}

// Register adds -silence and -alert-webhook to fs.
func Register(fs *flag.FlagSet, o *Options) {
	fs.DurationVar(&o.Silence, "silence", 5*time.Minute, "judge each source (a followed file, a file of a glob, a Kafka partition) over this span: one that produced and falls below a tenth of its expected events (the same hour on earlier days, else its recent rate) for the span is silent, one that never produced is never_started; each alert and recovery is appended to the Redis stream queue:alerts and named by /healthz (0: off; see docs/alerts.md)")
	fs.StringVar(&o.Webhook, "alert-webhook", "", "also POST each source alert as JSON to this http(s) URL, retried with backoff (never blocking the pipeline)")
}

// Validate checks the flags' values.
func (o Options) Validate() error {
	var errs []error
	if o.Silence < 0 {
		errs = append(errs, fmt.Errorf("-silence must not be negative, not %s", o.Silence))
	} else if o.Silence > 0 && o.Silence < time.Second {
		errs = append(errs, fmt.Errorf("-silence must be at least 1s (or 0: off), not %s", o.Silence))
	}
	if o.Webhook != "" && o.Silence == 0 {
		errs = append(errs, errors.New("-alert-webhook needs the sources watched: -silence above 0"))
	}
	if o.Webhook != "" {
		u, err := url.Parse(o.Webhook)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("-alert-webhook %s is not a URL", enrich.Redact(o.Webhook)))
		case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
			errs = append(errs, fmt.Errorf("-alert-webhook %s: want an http:// or https:// URL with a host", enrich.Redact(o.Webhook)))
		}
	}
	return errors.Join(errs...)
}

// Enabled says whether the sources are watched.
func (o Options) Enabled() bool { return o.Silence > 0 }

// Watch is a pipeline's sources being watched, and its alerts delivered.
// A nil *Watch (the watch is off) has no sources, no alerts and a healthy
// Check.
type Watch struct {
	Monitor *metrics.SourceMonitor
	Outbox  *alert.Outbox
}

// Start watches p's sources (the pipeline must count them:
// stream.Config.CountSources) until ctx ends, its goroutines in bg. Alerts
// go to prefix+queue:alerts on rdb, the hourly history to
// prefix+source:history:<source>, and each alert is logged at WARN.
func Start(ctx context.Context, bg *sync.WaitGroup, p *stream.Pipeline, rdb redis.UniversalClient, prefix string, o Options, log *slog.Logger) (*Watch, error) {
	if !o.Enabled() {
		return nil, nil
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	sinks := []alert.Sink{alert.NewRedisStream(rdb, prefix+AlertsKey, alertsMaxLen)}
	if o.Webhook != "" {
		sinks = append(sinks, alert.NewWebhook(o.Webhook, &http.Client{Timeout: 10 * time.Second}))
	}
	ocfg := o.Outbox
	if ocfg.Logger == nil {
		ocfg.Logger = log
	}
	box, err := alert.NewOutbox(ocfg, sinks...)
	if err != nil {
		return nil, err
	}
	mcfg := o.Monitor
	mcfg.Span = o.Silence
	if mcfg.Every == 0 && mcfg.Span/10 > time.Second {
		mcfg.Every = time.Second // a source's state shows within a second
	}
	mcfg.History = alert.NewRedisHistory(rdb, prefix)
	if mcfg.Logger == nil {
		mcfg.Logger = log
	}
	next := mcfg.OnAlert
	mcfg.OnAlert = func(a metrics.Alert) {
		log.Warn("source "+string(a.Kind), "source", a.Source, "observed_per_s", a.Observed, "expected_per_s", a.Expected,
			"since", a.Since.Format(time.RFC3339))
		box.Add(a)
		if next != nil {
			next(a)
		}
	}
	mon, err := metrics.NewSourceMonitor(p.SourceStats, mcfg)
	if err != nil {
		return nil, err
	}
	bg.Go(func() { _ = box.Run(ctx) })
	bg.Go(func() { _ = mon.Run(ctx) })
	log.Info("watching each source for silence", "span", o.Silence, "alerts", prefix+AlertsKey, "webhook", enrich.Redact(o.Webhook))
	return &Watch{Monitor: mon, Outbox: box}, nil
}

// Check is the /healthz check naming every silent source.
func (w *Watch) Check(now time.Time) error {
	if w == nil {
		return nil
	}
	return w.Monitor.Check(now)
}

// Sources returns each source's status (nil when the watch is off).
func (w *Watch) Sources() []metrics.SourceStatus {
	if w == nil {
		return nil
	}
	return w.Monitor.Status()
}

// Metrics sets the per-source and alert metrics of c.
func (w *Watch) Metrics(c *metrics.Config) {
	if w == nil {
		return
	}
	c.Sources = w.Monitor.Status
	c.Alerts = w.Monitor.Alerts
	c.AlertQueues = w.Outbox.Stats
}
