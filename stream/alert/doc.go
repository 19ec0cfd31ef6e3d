// Package alert delivers the per-source alerts of a metrics.SourceMonitor
// (a source fallen silent, one that never started, a recovery) and keeps
// the monitor's hourly history in Redis.
//
// An Outbox hands each alert to every Sink through a bounded queue per
// sink, each delivered by a goroutine of its own, in order, retried with
// exponential backoff and jitter until it is delivered or refused for good
// (an error wrapped by Permanent). Add never blocks: a sink that is down
// fills its own queue, whose oldest alerts are then dropped and counted,
// and delays no other sink; so the webhook still fires while Redis
// restarts, and the Redis stream receives the waiting alerts, in order,
// once it is back. Stats feeds metrics.Config.AlertQueues.
//
// Two sinks, whose fields are a contract (see docs/alerts.md):
//
//	NewRedisStream  XADD queue:alerts: source, kind, observed, expected, since, at
//	NewWebhook      POST the same fields as JSON
//
// NewRedisHistory is the monitor's metrics.HistoryStore in Redis: a hash
// per source, a field per hour.
//
// Wiring, in outline:
//
//	box, _ := alert.NewOutbox(alert.OutboxConfig{Logger: log},
//		alert.NewRedisStream(rdb, prefix+"queue:alerts", 100000),
//		alert.NewWebhook(url, nil))
//	mon, _ := metrics.NewSourceMonitor(pipeline.SourceStats, metrics.SourceConfig{
//		Span: silence, History: alert.NewRedisHistory(rdb, prefix), OnAlert: box.Add})
//	go box.Run(ctx)
//	go mon.Run(ctx)
package alert
