// Package rules evaluates CEL rules on a stream: typed rule sets loaded from
// YAML (or built in Go), per-key cooldowns in event time, atomic hot reload,
// explanations, and a backtest over history.
//
// # Rule sets
//
// A rule has a name, a CEL condition (when) that must return bool, the
// target it emits to, an optional payload (a CEL map literal with string
// keys), an optional per-key cooldown and enabled. A rule with window:
// <name> reads the window results of that name only; a rule without it
// reads plain events only. Env.Load and Env.LoadFile compile YAML; every
// error (unknown field, CEL syntax or type error, non-bool result, duplicate
// name, bad duration, missing target...) is a *LoadError naming the file,
// rule, line and column, with cel's caret excerpt verbatim. LoadDemo loads
// the example's rules (DemoYAML): interest, upgrade_ad and sms_offer.
//
// # The CEL environment
//
// One shared Env (NewEnv, or DefaultEnv for the demo) declares:
//
//   - event: the input event, typed by EnvConfig.EventSchema (default
//     stream.PlaySchema): event.customer_id, event.datetime (a timestamp)...
//   - customer, track: the records enrichment joined under those names
//     (ev.Joined), typed by stream.CustomerSchema and stream.TrackSchema.
//   - window: the window result (count, first, last, span, key, start, end,
//     name, kind, update, aggregates).
//   - now: the triggering event's time, so evaluation is deterministic in
//     event time (a replay decides as the live run did).
//
// Absent records: a rule that reads customer (or any joined record) is
// evaluated only on events where that record is joined and known. On an
// event whose customer is unknown (the lookup found nothing) or was not
// joined at all, the rule does not fire, and that is not an error: it is
// counted as Skipped in Stats. So upgrade_ad simply does not fire for an
// unknown customer.
//
// Unset fields: a field whose value is null (customer.pred_event before the
// model wrote it) reads as null. `==` then compares false without error
// (sms_offer does not fire), has(customer.pred_event) tests presence, and
// ordering a null (`customer.pred_event < 1`) is a runtime error.
//
// Rules are evaluated with a typed activation that reads the event and its
// records in place, without building a map per event. EnvConfig.Options
// (or Env.Extend, which shares the base environment) adds to the
// environment, for instance a function over a live model:
//
//	rules.NewEnv(rules.EnvConfig{Options: []cel.EnvOption{
//		cel.Function("ad_score", cel.Overload("ad_score_customer",
//			[]*cel.Type{rules.RecordType("customer")}, cel.DoubleType,
//			cel.UnaryBinding(func(v ref.Val) ref.Val {
//				rec, _ := rules.RecordOf(v)
//				return types.Double(model.Score(rec))
//			})))}})
//
// # Safety
//
// Each rule's worst-case cost is estimated at load. A rule within
// EnvConfig.CostLimit runs on the fast path; any other runs with a runtime
// cost limit and interrupt checks on the pipeline's context. A runtime error
// is counted per rule (Stats) and logged at most once per
// EngineConfig.LogInterval on the injected clock; it never drops the event
// for the other rules.
//
// # Engine
//
// Engine is a stream.Operator: for each input event it evaluates the live
// set and emits one stream.Event per firing, with Target = the rule's
// target, ID = "<rule>:<key>:<event_id>" (the window end, else the event
// time, in unix nanoseconds when the event has no event_id), Key = the
// firing key (customer_id), Time = the event's time, the joins of the input
// event, and the payload fields customer_id, track_id, event_id, rule,
// rule_version, at (unix milliseconds) plus the rule's payload entries, plus
// explain with EngineConfig.Explain. Cooldowns are kept per (rule, key) in
// event time and expire when the watermark passes their end; they assume
// events arrive in event-time order (put an ordering operator in front).
// The cooldown state is snapshotted in a versioned binary format.
//
// # Hot reload
//
// Engine.Swap and Engine.Reload replace the live set atomically: each batch
// is evaluated entirely by one set, so no event is lost or evaluated twice.
// FileWatcher (fsnotify) and RedisWatcher (a key plus a pub/sub channel)
// compile new sets off the hot path; an invalid set is rejected, counted and
// logged, and the old one keeps running.
//
// # Backtest
//
// Backtest runs a rule set over a historical source through the caller's
// upstream operators and reports, per rule, firings, distinct keys and
// samples, writing no target; Report.Format prints it.
package rules
