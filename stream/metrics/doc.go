// Package metrics exposes a rulestream pipeline to Prometheus (through
// github.com/prometheus/client_golang), in a package of its own so that the
// core imports no metrics library, and checks the pipeline's health.
//
// New registers a collector that reads the pipeline's counters
// (stream.Pipeline.Stats) at each scrape, and whatever other counters the
// caller hands it as functions (rule firings and errors per rule, Redis errors
// per component, scenario counters): the package imports none of rules,
// window or enrich. Metrics.Operator decorates a stage of the chain with its
// events in and out and its processing time. Metrics.Sink decorates a stream.Sink with a latency
// histogram of Write and Flush. Metrics.RedisHealth is the hook to feed from
// enrich.LookupConfig.OnHealth.
//
// Metrics (namespace "rulestream" by default; every metric has the label
// pipeline):
//
//	events_in_total, events_out_total, dead_letters_total, late_events_total,
//	batches_total, checkpoints_total                        counters
//	watermark_timestamp_seconds                             the pipeline watermark
//	watermark_lag_seconds                                   newest event time minus the watermark
//	watermark_delay_seconds                                 processing time minus the watermark
//	checkpoint_age_seconds                                  time since the last checkpoint
//	rule_firings_total{rule}, rule_errors_total{rule}       from Config.Firings, Config.RuleErrors
//	redis_errors_total{component}                           Config.RedisErrors plus RedisHealth's degradations
//	redis_up{component}                                     1 healthy, 0 degraded (RedisHealth, Config.RedisUp)
//	scenario_total{name}                                     Config.Counters (duplicates, matches...)
//	operator_events_in_total{operator}, operator_events_out_total{operator}
//	operator_seconds{operator,call}                         histogram of Operator's Process and Advance
//	sink_seconds{sink,op}                                   histogram of Sink's Write and Flush
//	sink_errors_total{sink,op}, sink_events_total{sink}
//	source_events_total{source}, source_rate{source},       Config.Sources (SourceMonitor.Status)
//	source_expected_rate{source}, source_silent{source},
//	source_never_started{source}
//	alerts_total{kind}                                      Config.Alerts (SourceMonitor.Alerts)
//	alert_queue_sent_total{sink}, alert_queue_failed_total{sink},
//	alert_queue_dropped_total{sink}, alert_queue_pending{sink}  Config.AlertQueues (alert.Outbox.Stats)
//
// SourceMonitor watches each source of a pipeline on its own (each file
// of a glob, each Kafka partition: stream.Config.CountSources): one that
// produced and falls below a tenth of what it is expected to produce over
// a span is silent, one that never produced is never started, and each
// change is an Alert (delivered by package stream/alert). What a source is
// expected to produce is its rate in the same hour on earlier days where
// that history exists (HistoryStore), else its own recent rate. Its Check
// names every silent source, for /healthz. See docs/alerts.md.
//
// Silence is the older, simpler check against a dead collector: a source
// that was producing and falls below a fraction of its recent rate. Probe checks a
// dependency actively (a Redis PING on a timer), so that it is reported down
// within the probe's period even while nothing else asks it anything.
// HealthHandler serves /healthz from checks like these: 200 when all pass,
// 503 otherwise.
package metrics
