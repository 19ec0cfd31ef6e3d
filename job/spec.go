package job

// The job file's format is declared once, here, as specs of its objects:
// the loader checks every node against them (unknown or repeated keys,
// wrong shapes, missing required keys, values outside an enum), and
// JSONSchema and the reference in docs/jobs.md are generated from them, so
// the three cannot disagree.

// ftype is the shape of a field's value.
type ftype int

const (
	tString   ftype = iota // a scalar
	tBool                  // true or false
	tInt                   // an integer
	tDuration              // 30s, 5m, 24h, 7d
	tStrings               // a list of scalars (a single scalar is a list of one)
	tObject                // a mapping described by obj
	tObjects               // a list of mappings described by obj
	tTypes                 // a mapping of field names to a type, or to {type, format}
	tAggs                  // a mapping of aggregate names to count, sum(f), min(f)...
)

// field is one key of an object.
type field struct {
	name     string
	typ      ftype
	required bool
	doc      string
	enum     []string
	def      string // the default, as documented
	obj      *spec  // for tObject and tObjects
}

// spec is an object of the format. With variants, its "type" key selects
// one, whose fields add to the common ones.
type spec struct {
	name     string
	doc      string
	fields   []field
	variants []*spec // each with name = its type value
}

// lookup returns the field of key in s (or in variant v).
func (s *spec) lookup(key string, v *spec) (field, bool) {
	for _, f := range s.fields {
		if f.name == key {
			return f, true
		}
	}
	if v != nil {
		for _, f := range v.fields {
			if f.name == key {
				return f, true
			}
		}
	}
	return field{}, false
}

// variant returns the variant named t.
func (s *spec) variant(t string) *spec {
	for _, v := range s.variants {
		if v.name == t {
			return v
		}
	}
	return nil
}

func (s *spec) variantNames() []string {
	out := make([]string, len(s.variants))
	for i, v := range s.variants {
		out[i] = v.name
	}
	return out
}

// The field types of input fields and lookup fields.
var fieldTypes = []string{"string", "int", "float", "bool", "time"}

// The time formats (besides a Go layout).
const timeFormatDoc = "datetime (YYYY-MM-DD hh:mm:ss or RFC 3339; the default), rfc3339, unix, unix_ms, unix_us, unix_ns, or a Go layout such as 02/01/2006 15:04"

var kafkaSpec = &spec{name: "kafka", doc: "A Kafka topic read as a consumer group; each partition is a source with its own watermark and checkpoint.", fields: []field{
	{name: "brokers", typ: tStrings, required: true, doc: "bootstrap brokers, host:port"},
	{name: "topic", typ: tString, required: true, doc: "the topic"},
	{name: "group", typ: tString, required: true, doc: "the consumer group"},
	{name: "offset", typ: tString, enum: []string{"oldest", "newest"}, def: "oldest", doc: "where a group without committed offsets starts"},
}}

var inputSpec = &spec{name: "input", doc: "Where events come from and how they are decoded.", fields: []field{
	{name: "path", typ: tString, doc: "a file, a glob of files (each its own source), or - for stdin; a relative path is relative to the job file. Exactly one of path and kafka."},
	{name: "kafka", typ: tObject, obj: kafkaSpec, doc: "a Kafka topic instead of a file"},
	{name: "format", typ: tString, enum: []string{"csv", "json"}, def: "csv", doc: "csv: one record per line; json: one JSON object per line (or per Kafka message)"},
	{name: "header", typ: tBool, def: "false", doc: "csv: the first line names the columns (matched to fields by name)"},
	{name: "columns", typ: tStrings, doc: "csv without header: the field each column holds, in order (_ skips a column)"},
	{name: "fields", typ: tTypes, required: true, doc: "the event's fields and their types (string, int, float, bool, time); a time field may give {type: time, format: ...}, format being " + timeFormatDoc},
	{name: "time", typ: tString, required: true, doc: "the field holding the event time (of type time)"},
	{name: "id", typ: tString, doc: "the field identifying an event: deliveries with the same id are one event (dropped as duplicates while within the lateness), and it makes emissions' ids"},
	{name: "key", typ: tStrings, doc: "the fields forming the event's key (joined with |): the default key of cooldowns and of emissions, and how Kafka partitions and parallel lanes split events"},
	{name: "strict", typ: tBool, def: "false", doc: "json: an unknown key is an error; csv with header: an unknown column is an error"},
}}

var cacheSpec = &spec{name: "cache", doc: "The lookup's local cache.", fields: []field{
	{name: "entries", typ: tInt, def: "1048576", doc: "records kept at most"},
	{name: "ttl", typ: tDuration, def: "5m", doc: "how long a record is kept"},
}}

var loadSpec = &spec{name: "load", doc: "Reference data loaded into the lookup's hashes before the job starts.", fields: []field{
	{name: "file", typ: tString, required: true, doc: "a CSV file with a header naming the lookup's fields (relative to the job file); other columns are not loaded"},
	{name: "key", typ: tString, required: true, doc: "the hash key of a row: a template over the lookup's fields (the file's columns of the same names), e.g. account:{user}"},
}}

var lookupSpec = &spec{name: "lookup", doc: "A Redis hash joined onto each event; rules read it as a CEL variable named after the lookup.", fields: []field{
	{name: "name", typ: tString, required: true, doc: "the lookup's name: the CEL variable rules read"},
	{name: "key", typ: tString, required: true, doc: "the hash's key: a template over event fields, e.g. account:{user}"},
	{name: "fields", typ: tTypes, required: true, doc: "the hash fields read and their types"},
	{name: "unknown", typ: tString, enum: []string{"pass", "drop", "deadletter"}, def: "pass", doc: "an event whose hash does not exist: passed on without the record (rules reading it do not fire), dropped, or dead-lettered"},
	{name: "cache", typ: tObject, obj: cacheSpec},
	{name: "load", typ: tObject, obj: loadSpec},
}}

// The aggregate functions of time windows.
var aggFuncs = []string{"count", "sum", "min", "max", "first", "last", "distinct"}

var windowCommon = []field{
	{name: "name", typ: tString, required: true, doc: "the window's name: rules read its results with window: <name>"},
	{name: "type", typ: tString, required: true, doc: "the window's kind"},
	{name: "key", typ: tStrings, required: true, doc: "the event fields the window is keyed by"},
	{name: "where", typ: tString, doc: "a CEL condition over event and the lookups: only events for which it holds enter the window"},
	{name: "max_keys", typ: tInt, doc: "the most keys holding state (for new_value, key and value pairs); beyond it the oldest is evicted, counted and logged. Default 4194304"},
}

// The bounds of the event-time decisions' buffers and of partial matches.
var (
	maxPending = field{name: "max_pending", typ: tInt, doc: "the most events buffered until the watermark passes them; beyond it the oldest half is decided early, counted and logged as evictions, and events older than those are late. Default 4194304"}
	maxMatches = field{name: "max_matches", typ: tInt, doc: "the most candidate matches held per key; beyond it the oldest is dropped, counted and logged as an eviction. Default 64"}
	early      = field{name: "early", typ: tBool, doc: "fire a match as soon as the events that have arrived hold one, in the batch of the event completing it, instead of when the watermark passes it; the event-time decision then confirms it (not emitted again) or corrects it (emits the match it finds, which early firing did not); default: true for a live input (a followed file, Kafka), false for files read once (-once), which so give today's event-time answers"}
)

var timeWindowAggs = field{name: "aggregates", typ: tAggs, doc: "named aggregates: count, sum(field), min(field), max(field), first(field), last(field), distinct(field); rules read them typed, as window.aggregates.<name>"}

var windowSpec = &spec{name: "window", doc: "A windowed operator over the events; its results are what window rules read.", fields: windowCommon,
	variants: []*spec{
		{name: "count_within", doc: "count events of a key, firing when count of them lie within `within` (first to last, inclusive); a match consumes its events", fields: []field{
			{name: "count", typ: tInt, required: true, doc: "events that make a match"},
			{name: "within", typ: tDuration, required: true, doc: "the most time from a match's first event to its last (inclusive)"},
			maxPending, early,
		}},
		{name: "tumbling", doc: "fixed, non-overlapping windows [k*size+offset, (k+1)*size+offset), firing when the watermark reaches their end", fields: []field{
			{name: "size", typ: tDuration, required: true},
			{name: "offset", typ: tDuration, def: "0s", doc: "shifts the boundaries (time zones)"},
			timeWindowAggs,
		}},
		{name: "sliding", doc: "windows of size starting every slide (hopping windows)", fields: []field{
			{name: "size", typ: tDuration, required: true},
			{name: "slide", typ: tDuration, required: true, doc: "at most size"},
			{name: "offset", typ: tDuration, def: "0s"},
			timeWindowAggs,
		}},
		{name: "session", doc: "a key's events separated by less than gap; a session ends gap after its last event", fields: []field{
			{name: "gap", typ: tDuration, required: true},
			timeWindowAggs,
		}},
		{name: "sequence", doc: "events matching steps[0], steps[1]... in that order (others in between ignored), the last at most within after the first; each step takes the earliest event that can complete the match, and the next match starts after it", fields: []field{
			{name: "steps", typ: tStrings, required: true, doc: "the steps: CEL conditions over event and the lookups, at least two"},
			{name: "within", typ: tDuration, required: true, doc: "the most time from a match's first event to its last (inclusive)"},
			maxMatches, maxPending, early,
		}},
		{name: "absence", doc: "an event matching start that no event matching end follows within `within`; fires when the watermark passes start + within", fields: []field{
			{name: "start", typ: tString, required: true, doc: "a CEL condition: the event that starts the wait"},
			{name: "end", typ: tString, required: true, doc: "a CEL condition: the event that ends it"},
			{name: "within", typ: tDuration, required: true, doc: "how long after a start an end still counts (inclusive)"},
			{name: "max_matches", typ: tInt, doc: "the most pending starts held per key; beyond it the oldest is dropped, counted and logged as an eviction. Default 64"},
			maxPending,
		}},
		{name: "new_value", doc: "an event whose field has a value its key has not shown in the `within` before it; fires on that event", fields: []field{
			{name: "field", typ: tString, required: true, doc: "the field whose values are tracked"},
			{name: "within", typ: tDuration, required: true, doc: "how long a value stays known after it was last seen (inclusive)"},
			maxPending, early,
		}},
		{name: "distinct_count", doc: "an event that brings the distinct values of field among its key's events in the last `within` to count; the match consumes its events", fields: []field{
			{name: "field", typ: tString, required: true, doc: "the field whose distinct values are counted"},
			{name: "count", typ: tInt, required: true, doc: "distinct values that make a match"},
			{name: "within", typ: tDuration, required: true, doc: "the span the values are counted over (inclusive)"},
			maxPending, early,
		}},
	}}

var ruleSpec = &spec{name: "rule", doc: "A CEL rule: when its condition holds, an emission goes to its target.", fields: []field{
	{name: "name", typ: tString, required: true},
	{name: "when", typ: tString, required: true, doc: "the CEL condition; must return bool"},
	{name: "target", typ: tString, required: true, doc: "the target emissions go to"},
	{name: "window", typ: tString, doc: "evaluate on the results of this window instead of on events"},
	{name: "payload", typ: tString, doc: "a CEL map literal with string keys: fields added to emissions"},
	{name: "cooldown", typ: tDuration, doc: "at most one emission per key per period, in event time"},
	{name: "enabled", typ: tBool, def: "true"},
	{name: "description", typ: tString},
}}

// The write types of targets, by their job-file names.
var writeTypes = []string{"stream", "list", "sorted_set", "set", "hash"}

var writeFields = map[string][]field{
	"stream": {
		{name: "fields", typ: tStrings, doc: "the emission's fields written, in order (default: all)"},
		{name: "maxlen", typ: tInt, doc: "cap the stream at about this many entries (XADD MAXLEN ~)"},
		{name: "id_field", typ: tString, doc: "also write the emission's id under this field name"},
	},
	"list": {
		{name: "fields", typ: tStrings, doc: "the fields of the JSON object pushed (default: all)"},
		{name: "member", typ: tString, doc: "push this field's text instead of a JSON object"},
	},
	"sorted_set": {
		{name: "member", typ: tString, required: true, doc: "the field whose text is the member"},
		{name: "score", typ: tString, doc: "the field holding the score (an int, a float, or a time as unix ms); default: the event time in unix ms"},
		{name: "nx", typ: tBool, def: "false", doc: "keep an existing member's score (ZADD NX: the first one wins)"},
		{name: "lt", typ: tBool, def: "false", doc: "keep the lowest score (ZADD LT: a member's score only goes down; a new member is added); not with nx; Redis 6.2 or later"},
	},
	"set": {
		{name: "member", typ: tString, required: true, doc: "the field whose text is the member"},
	},
	"hash": {
		{name: "fields", typ: tStrings, doc: "the fields written (default: all)"},
		{name: "id_field", typ: tString, doc: "also write the emission's id under this field name"},
	},
}

var writeDocs = map[string]string{
	"stream":     "XADD key [MAXLEN ~ n] * field value ...",
	"list":       "LPUSH key element",
	"sorted_set": "ZADD key [NX|LT] score member",
	"set":        "SADD key member",
	"hash":       "HSET key field value ...",
}

func writeVariants(withName bool) []*spec {
	var out []*spec
	for _, t := range writeTypes {
		fs := []field{{name: "key", typ: tString, required: true, doc: "the key: a template over the emission's fields, e.g. alerts:{user}"}}
		out = append(out, &spec{name: t, doc: writeDocs[t], fields: append(fs, writeFields[t]...)})
	}
	return out
}

var writeSpec = &spec{name: "write", doc: "One Redis write applied to each emission of a target.", fields: []field{
	{name: "type", typ: tString, required: true, doc: "the write's kind"},
}, variants: writeVariants(false)}

var targetSpec = &spec{name: "target", doc: "Where emissions are written: one Redis write (type and its keys), or several applied atomically (writes). The target named deadletter receives malformed input (fields source, position, reason, raw); the target named late receives late events (their fields plus late_by_ms).", fields: []field{
	{name: "name", typ: tString, required: true, doc: "the name rules give as target"},
	{name: "type", typ: tString, doc: "the write's kind (one write)"},
	{name: "writes", typ: tObjects, obj: writeSpec, doc: "several writes, applied atomically per emission"},
}, variants: writeVariants(true)}

var jobSpec = &spec{name: "job", doc: "A rulestream job: input, lookups, windows, rules and targets.", fields: []field{
	{name: "name", typ: tString, doc: "the job's name (logs, metrics, checkpoints); default: the file's base name"},
	{name: "version", typ: tString, doc: "the rules' version, carried by every emission as rule_version; default: a hash of the rules"},
	{name: "description", typ: tString},
	{name: "input", typ: tObject, obj: inputSpec, required: true},
	{name: "lateness", typ: tDuration, def: "5m", doc: "how far behind the newest event time an event may arrive and still be taken into account: the watermark trails the newest event time by this much; later events go to the late target"},
	{name: "max_ahead", typ: tDuration, def: "1h", doc: "the outlier guard of event time: an event more than this beyond the newest event time of its partition that the data supports (a future-dated record) is processed but does not move the watermark until 8 such events arrived in a row (the data really moved on), and a partition's watermark starts at its first event another within this supports; must exceed the usual gap between a partition's consecutive events; 0s turns the guard off (every event moves the watermark)"},
	{name: "idle_advance", typ: tDuration, def: "30s", doc: "for a live input (a followed file, Kafka): once no event arrived for this long (processing time), event time moves on with processing time from the newest event seen, so that absences, windows and held events are decided when their time passes on the wall clock rather than when the next events arrive (an event then arriving older than that is late); 0s turns it off (the watermark holds while the input is quiet)"},
	{name: "order", typ: tString, enum: []string{"auto", "arrival", "event_time"}, def: "auto", doc: "the order per-event rules (no window) see events in. arrival: as they arrive, each decided at once (cooldowns included): deterministic on replay, since a Kafka partition or a file replays in the same order; event_time: held until the watermark passes them and decided in event-time order, so that cooldowns do not depend on arrival order (a backfill), at the cost of waiting for the lateness; auto: arrival for a live input (a followed file, Kafka, -once or not), event_time when files or stdin are read once (-once)"},
	{name: "lookups", typ: tObjects, obj: lookupSpec},
	{name: "windows", typ: tObjects, obj: windowSpec},
	{name: "rules", typ: tObjects, obj: ruleSpec, required: true},
	{name: "targets", typ: tObjects, obj: targetSpec, required: true},
}}
