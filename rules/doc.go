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
// reads plain events only. Env.Load and Env.LoadFile compile YAML (and
// Env.LoadYAML the rules: list of a larger document, such as a job file);
// every error (unknown field, CEL syntax or type error, non-bool result,
// duplicate name, bad duration, unknown window or target...) is a
// *LoadError naming the file, rule, line and column; a CEL error is placed
// at its own line and column inside the expression, with cel's message and
// a caret excerpt.
//
// # The CEL environment
//
// One shared Env (NewEnv) declares, from its EnvConfig:
//
//   - event: the input event, typed by EnvConfig.EventSchema (required):
//     event.user, event.time (a timestamp)...
//   - the joined records (EnvConfig.Joins), one variable each, typed by
//     their schemas: the records enrichment joined under those names.
//   - window: for a rule with window: <name>, the result of that declared
//     window (EnvConfig.Windows): count, first, last, span, key, start,
//     end, name, kind, update, and aggregates, an object with one typed
//     field per declared aggregate (window.aggregates.plays is an int).
//     For a time window, event holds the window's key fields.
//   - now: the triggering event's time, so evaluation is deterministic in
//     event time (a replay decides as the live run did).
//
// A rule naming an undeclared window, or (when EnvConfig.Targets is set)
// an undeclared target, is refused at load and at reload. Env.NewFilter
// compiles a condition over event and the joins into a Filter operator (a
// window's where:).
//
// Absent records: a rule that reads a joined record (say account) is
// evaluated only on events where that record is joined and known. On an
// event whose account is unknown (the lookup found nothing) or was not
// joined at all, the rule does not fire, and that is not an error: it is
// counted as Skipped in Stats.
//
// Unset fields: a field whose value is null (a hash field not written yet)
// reads as null. `==` then compares false without error, has(account.plan)
// tests presence, and ordering a null (`account.score < 1`) is a runtime
// error.
//
// Rules are evaluated with a typed activation that reads the event and its
// records in place, without building a map per event. EnvConfig.Options
// (or Env.Extend, which shares the base environment) adds to the
// environment, for instance a function over a live model:
//
//	rules.NewEnv(rules.EnvConfig{EventSchema: logins, Options: []cel.EnvOption{
//		cel.Function("risk", cel.Overload("risk_account",
//			[]*cel.Type{rules.RecordType("account")}, cel.DoubleType,
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
// target, ID = "<rule>:<key>:<id>" (id: the event's EngineConfig.IDField;
// without one, a time window's start and end, else the event's position),
// Key = the firing key (the event's Key, or EngineConfig.KeyField), Time =
// the event's time, the joins of the input event, and as fields: the
// event's fields, then rule, rule_version and at (unix milliseconds), then
// the rule's payload entries (a payload key naming a field replaces it),
// plus explain with EngineConfig.Explain. Cooldowns are kept per (rule, key)
// in event time and expire when the watermark passes their end; they assume
// events arrive in event-time order (put an ordering operator in front).
// The cooldown state is snapshotted in a versioned binary format. Past the
// pipeline's memory budget (stream.Config.MemoryBudget) the engine sheds
// its oldest cooldown entries (Engine.Shed): a key whose entry went may
// fire again within its cooldown; counted in Stats.Evictions and logged.
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
