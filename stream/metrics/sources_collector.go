package metrics

import "github.com/prometheus/client_golang/prometheus"

// QueueStats are an alert delivery queue's counts (alert.Outbox.Stats).
type QueueStats struct {
	Sent    int64 // delivered
	Failed  int64 // refused for good by the receiver (not retried)
	Dropped int64 // the oldest, dropped while the queue was full
	Pending int   // waiting to be delivered
}

// sourceDescs are the per-source and alert metrics.
type sourceDescs struct {
	events, rate, expected, silent, never  *prometheus.Desc
	alerts, sent, failed, dropped, pending *prometheus.Desc
}

func newSourceDescs(d func(name, help string, vars ...string) *prometheus.Desc) sourceDescs {
	return sourceDescs{
		events:   d("source_events_total", "Events read from the source (a file, a topic/partition).", "source"),
		rate:     d("source_rate", "The source's rate over the silence span, events/s.", "source"),
		expected: d("source_expected_rate", "The rate the source's silence threshold is drawn from (the same hours on earlier days, else its recent rate), events/s; 0 without a reference.", "source"),
		silent:   d("source_silent", "1 while the source is silent: it produced, then fell below its threshold for the span.", "source"),
		never:    d("source_never_started", "1 while the source has produced nothing since it became known, for the span or longer.", "source"),
		alerts:   d("alerts_total", "Source alerts raised, by kind (silence, recovered, never_started).", "kind"),
		sent:     d("alert_queue_sent_total", "Alerts delivered, by sink.", "sink"),
		failed:   d("alert_queue_failed_total", "Alerts the sink refused for good (not retried), by sink.", "sink"),
		dropped:  d("alert_queue_dropped_total", "Alerts dropped, the oldest first, while the sink's queue was full (the sink unreachable), by sink.", "sink"),
		pending:  d("alert_queue_pending", "Alerts waiting to be delivered, by sink.", "sink"),
	}
}

func (s sourceDescs) describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.events, s.rate, s.expected, s.silent, s.never, s.alerts, s.sent, s.failed, s.dropped, s.pending} {
		ch <- d
	}
}

func (s sourceDescs) collect(cfg Config, counter func(*prometheus.Desc, int64, ...string), gauge func(*prometheus.Desc, float64, ...string)) {
	flag := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	if cfg.Sources != nil {
		for _, st := range cfg.Sources() {
			counter(s.events, st.Events, st.Source)
			gauge(s.rate, st.Rate, st.Source)
			gauge(s.expected, st.Expected, st.Source)
			gauge(s.silent, flag(st.State == SourceSilent), st.Source)
			gauge(s.never, flag(st.State == SourceNeverStarted), st.Source)
		}
	}
	eachSorted(call(cfg.Alerts), func(k string, v int64) { counter(s.alerts, v, k) })
	if cfg.AlertQueues != nil {
		qs := cfg.AlertQueues()
		for _, sink := range sortedKeys(qs) {
			q := qs[sink]
			counter(s.sent, q.Sent, sink)
			counter(s.failed, q.Failed, sink)
			counter(s.dropped, q.Dropped, sink)
			gauge(s.pending, float64(q.Pending), sink)
		}
	}
}
