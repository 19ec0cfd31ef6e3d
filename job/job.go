package job

import (
	"errors"
	"time"

	"cel.dev/cel-go/cel"
	"go.yaml.in/yaml/v3"

	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
)

// The names of the two targets that rules do not emit to: malformed input
// goes to DeadLetterTarget, events later than the lateness to LateTarget.
const (
	DeadLetterTarget = "deadletter"
	LateTarget       = "late"
)

// LateByField is the field late events carry in the late target: how far
// (milliseconds of event time) the event was behind the watermark.
const LateByField = "late_by_ms"

// Options are what Go adds to a job file.
type Options struct {
	// CEL extends the rules' environment, e.g. with a function over a live
	// model: cel.Function("score", ...). Rules may then call it.
	CEL []cel.EnvOption
}

// Job is a loaded, validated job file. Build turns it into a pipeline's
// parts.
type Job struct {
	// File is the job file's path (or the name it was parsed under).
	File string
	// Name is the job's name (default: the file's base name without
	// extension).
	Name        string
	Description string
	Input       Input
	// Lateness bounds the out-of-orderness of event time: the watermark is
	// the newest event time minus this.
	Lateness time.Duration
	// MaxAhead is the outlier guard of event time (stream.Config.MaxAhead);
	// 0 turns it off. StreamMaxAhead gives it as the pipeline takes it.
	MaxAhead time.Duration
	// IdleAdvance: a live input quiet for this long moves event time on
	// with processing time (idle_advance:; StreamIdleAdvance gives it as
	// the pipeline takes it).
	IdleAdvance time.Duration
	// Order is the order per-event rules see events in (order:); Live
	// resolves OrderAuto.
	Order Order
	// Live says the input is live (a followed file, Kafka) rather than a
	// bounded input read once: OrderAuto then means arrival order. Set by
	// the runner before Build (default false: event-time order, as a
	// bounded run gives).
	Live    bool
	Lookups []Lookup
	Windows []Window
	Targets []Target
	// Rules is the compiled rule set.
	Rules *rules.RuleSet
	// Env is the rules' environment: the input schema, the lookups and the
	// windows.
	Env *rules.Env
	// Schema types the input events.
	Schema *stream.Schema

	opts      Options
	dir       string // the directory relative paths are resolved against
	src       []byte
	rulesNode *yaml.Node
	filters   map[string]*rules.Filter // compiled where: conditions, by window
	version   string
}

// Input is where events come from and how they are decoded.
type Input struct {
	// Path is a file, a glob or "-" (stdin), resolved against the job
	// file's directory. Empty when Kafka is set.
	Path string
	// Kafka, when set, reads a topic as a consumer group.
	Kafka *Kafka
	// Format is "csv" or "json".
	Format string
	// Header: the CSV's first line names its columns.
	Header bool
	// Columns are the fields of a CSV without header, column by column
	// ("_" skips one).
	Columns []string
	// Fields are the event's fields in declaration order.
	Fields []Field
	// Time names the event-time field.
	Time string
	// ID names the field identifying an event (dedup, emission ids).
	ID string
	// Key names the fields forming the event's key.
	Key []string
	// Strict refuses unknown JSON keys or CSV header columns.
	Strict bool
}

// Field is a declared field: its name, kind and, for a time, its format.
type Field struct {
	Name   string
	Kind   stream.Kind
	Format stream.TimeFormat
}

// Kafka names a topic read as a consumer group.
type Kafka struct {
	Brokers []string
	Topic   string
	Group   string
	// Offset is "oldest" or "newest".
	Offset string
}

// Lookup is a Redis hash joined onto each event.
type Lookup struct {
	Name string
	// Key is the hash's key template over event fields.
	Key    string
	Fields []Field
	Schema *stream.Schema
	// Unknown is "pass", "drop" or "deadletter".
	Unknown      string
	CacheEntries int
	CacheTTL     time.Duration
	// Load, when set, loads reference data into the hashes first.
	Load *Reference
}

// Reference is reference data: a CSV file with a header, one hash per row.
type Reference struct {
	// File is resolved against the job file's directory.
	File string
	// Key is the hash key template over the file's columns.
	Key string
}

// Window is a windowed operator.
type Window struct {
	Name string
	// Type is count_within, tumbling, sliding or session.
	Type  string
	Key   []string
	Where string
	// Count and Within define count_within.
	Count  int
	Within time.Duration
	// Size, Slide and Offset define tumbling and sliding windows; Gap
	// sessions.
	Size, Slide, Offset, Gap time.Duration
	Aggregates               []Aggregate
	// Steps are a sequence's conditions; Start and End an absence's.
	Steps      []string
	Start, End string
	// Field is the field of a new_value or distinct_count (whose Count is
	// the distinct values that match).
	Field string
	// MaxKeys bounds the keys holding state (0: the operator's default).
	MaxKeys int
	// MaxPending bounds the events a count_within or a pattern buffers
	// until the watermark passes them; MaxMatches a sequence's candidate
	// matches or an absence's pending starts per key (0: the defaults).
	MaxPending, MaxMatches int
	// Early fires a count_within or pattern match as soon as the events
	// that have arrived hold one (early:); nil: Job.Live decides
	// (EarlyFor).
	Early *bool

	node *obj // for errors
}

// Aggregate is a named aggregate of a time window.
type Aggregate struct {
	Name string
	// Func is count, sum, min, max, first, last or distinct.
	Func string
	// Field is the event field aggregated ("" for count).
	Field string
	// Kind is the result's type, as rules see it.
	Kind stream.Kind
}

// Target is where emissions go: writes applied atomically per emission.
type Target struct {
	Name   string
	Writes []Write
}

// Write is one Redis write.
type Write struct {
	// Type is stream, list, sorted_set, set or hash.
	Type    string
	Key     string
	Fields  []string
	MaxLen  int64
	Member  string
	Score   string
	NX      bool
	LT      bool
	IDField string

	node *obj // for errors
}

// Window returns the window of that name.
func (j *Job) Window(name string) (Window, bool) {
	for _, w := range j.Windows {
		if w.Name == name {
			return w, true
		}
	}
	return Window{}, false
}

// Dir returns the directory relative paths of the job are resolved
// against.
func (j *Job) Dir() string { return j.dir }

// WithRules returns a copy of the job running set instead of its own rules
// (a rule file given apart from the job). set must be compiled in the job's
// environment (j.Env.Load or LoadFile), and its targets must accept its
// emissions.
func (j *Job) WithRules(set *rules.RuleSet) (*Job, error) {
	if set.Env() != j.Env {
		return nil, errors.New("job: WithRules: the rules were not compiled in the job's environment (Job.Env)")
	}
	cp := *j
	cp.Rules = set
	c := &errs{file: j.File, src: j.src}
	cp.checkTargets(c)
	if err := c.err(); err != nil {
		return nil, err
	}
	return &cp, nil
}

// StreamMaxAhead returns the job's max_ahead as stream.Config.MaxAhead
// takes it (negative: off).
func (j *Job) StreamMaxAhead() time.Duration {
	if j.MaxAhead == 0 {
		return -1
	}
	return j.MaxAhead
}

// Order is the order per-event rules see events in (the job file's
// order:).
type Order string

// The orders.
const (
	// OrderAuto: OrderArrival for a live input, OrderEventTime for a
	// bounded input read once (Job.Live).
	OrderAuto Order = "auto"
	// OrderArrival: per-event rules decide each event as it arrives,
	// cooldowns included, in its partition's arrival order (Kafka Streams'
	// model: a replay of the partition, or of a file from its start,
	// decides the same). Nothing waits for the watermark.
	OrderArrival Order = "arrival"
	// OrderEventTime: per-event rules with a cooldown see events held until
	// the watermark passes them, in event-time order, so that what a
	// cooldown suppresses does not depend on arrival order; decisions wait
	// for the lateness.
	OrderEventTime Order = "event_time"
)

// RuleOrder returns the order the per-event rules run in: Order with
// OrderAuto resolved by Live.
func (j *Job) RuleOrder() Order {
	switch {
	case j.Order != OrderAuto && j.Order != "":
		return j.Order
	case j.Live:
		return OrderArrival
	}
	return OrderEventTime
}

// StreamIdleAdvance returns stream.Config.IdleAdvance for the job: its
// idle_advance for a live input (Live), 0 (off) for a bounded one.
func (j *Job) StreamIdleAdvance() time.Duration {
	if !j.Live {
		return 0
	}
	return j.IdleAdvance
}

// EarlyFor says whether window w fires its matches early (window.
// CountWithinConfig.Early and the patterns'): its early: when given, else
// for a live input (Live), so that a bounded run read once gives the
// event-time answers. Only count_within, sequence, new_value and
// distinct_count have it.
func (j *Job) EarlyFor(w Window) bool {
	switch w.Type {
	case "count_within", "sequence", "new_value", "distinct_count":
	default:
		return false
	}
	if w.Early != nil {
		return *w.Early
	}
	return j.Live
}
