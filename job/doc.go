// Package job runs a rulestream job declared in one YAML file: the input
// (a file, glob or stdin, or a Kafka topic; CSV or JSON; typed fields, the
// event-time field, the id and key fields), the lateness, lookups (Redis
// hashes joined onto events), windows and patterns (count_within, tumbling,
// sliding, session, sequence, absence, new_value, distinct_count), CEL
// rules and Redis targets. docs/jobs.md describes the format; cmd/rulestream
// runs a job file; a Go program loads one to add what YAML cannot (a CEL
// function over a live model, an operator beside the windows).
//
// # Load
//
// Load (or Parse) reads a job file and validates all of it: every unknown
// or missing key, wrong shape, unknown field, window, lookup or target, type
// error in a CEL condition or payload, bad duration is reported at once, as
// Errors whose entries name file:line:column (a CEL error at its own place
// inside the expression) and the path of the node. The format is declared
// once, as specs of its objects: the same specs check files, make the JSON
// Schema (JSONSchema) and the reference tables (Markdown).
//
// # Plan and build
//
// Plan says what Build makes of the job: only what the rules use. A window
// no enabled rule reads is not built, nor a lookup that neither a rule nor a
// built window reads (unless it drops or dead-letters events); the
// event-time order runs in front of per-event rules only when one has a
// cooldown. Print writes the job with every default resolved, and its plan.
//
// Build makes the parts of a pipeline against a Redis: Operators, the chain
// of one partition (use it with stream.Pipeline.ViaPartitioned), the Router
// of the targets (idempotent Redis sinks), LateSink for the late target,
// and the master rules engine. Reload swaps the rules of a changed job file
// in, atomically, when it builds the same parts; otherwise it says a
// restart is needed and the running job goes on. Counters sums what every
// partition's operators counted.
package job
