package stream

import (
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// Position says where an event came from: a file and line, or a topic,
// partition and offset. Partition is -1 for unpartitioned sources.
type Position struct {
	Source    string // file path, topic, or source name
	Partition int32  // -1 when the source has no partitions
	Offset    int64  // line number (1-based) for files, offset for logs
	Line      bool   // Offset is a line number (file:line form)
}

// String formats the position as file:line or topic/partition/offset.
func (p Position) String() string {
	if p.Line {
		return p.Source + ":" + strconv.FormatInt(p.Offset, 10)
	}
	var b strings.Builder
	b.WriteString(p.Source)
	b.WriteByte('/')
	b.WriteString(strconv.FormatInt(int64(p.Partition), 10))
	b.WriteByte('/')
	b.WriteString(strconv.FormatInt(p.Offset, 10))
	return b.String()
}

// Record is a typed record joined onto an event, such as the account or the
// device looked up by enrichment.
type Record struct {
	Schema *Schema
	Values []Value
}

// Get returns the named value of r, or null if r is nil or has no such field.
func (r *Record) Get(name string) Value {
	if r == nil || r.Schema == nil {
		return Value{}
	}
	if i := r.Schema.Index(name); i >= 0 && i < len(r.Values) {
		return r.Values[i]
	}
	return Value{}
}

// Join is a named record attached to an event. Rec is nil when the lookup
// found nothing (an unknown id).
type Join struct {
	Name string
	Rec  *Record
}

// Event is one element of a stream. Events are values; the runner moves them
// in batches. Fields holds the values of Schema's fields in order.
type Event struct {
	// Key is the partitioning key (for logins, say, the user).
	Key string
	// Time is the event time in unix nanoseconds (UTC).
	Time int64
	// Pos is where the event came from.
	Pos Position
	// Schema names Fields.
	Schema *Schema
	// Fields are the typed values, in schema order.
	Fields []Value
	// Joins are records attached by enrichment, in the order they were joined.
	Joins []Join
	// Window describes the window result this event carries, if any.
	Window *WindowInfo
	// Target names the sink an emitted event is meant for (set by rules).
	Target string
	// ID is a deterministic id of an emitted event, used for idempotent
	// writes (rule, key and event id or window end). Empty for input events.
	ID string
	// Rule names the rule that emitted the event (set by rules; empty for
	// input events): the decision-latency histograms are per rule.
	Rule string
	// Arrived is the processing time (unix ns) the event was read from its
	// source, set by the runner; window results and emissions keep the
	// arrival of the event that completed them. Zero: unknown.
	Arrived int64
	// Origin is the checkpointed partition that emitted the event, set by
	// the runner on what a partitioned pipeline with Checkpoints emits, and
	// on what the single task of a checkpointed file emits (nil otherwise):
	// an exactly-once sink scopes its bookkeeping to it.
	Origin *Origin
	// Seq, when not zero, is the position of the input the event was
	// emitted for in its Origin's input order: a Kafka offset plus one, or
	// a file's line counted across its restarts. The runner sets it on the
	// inputs of a checkpointed task whose operators all emit in arrival
	// order (ArrivalOrdered) and keeps it on what they emit for each
	// input; a replay from a checkpoint then emits the same outputs with
	// the same Seq, in the same order, and a sink can skip those at or
	// below the highest it wrote (see Origin) instead of remembering each.
	Seq int64
}

// EventTime returns Time as a time.Time in UTC.
func (e *Event) EventTime() time.Time { return time.Unix(0, e.Time).UTC() }

// Get returns the named field, or null when the schema lacks it.
func (e *Event) Get(name string) Value {
	if e.Schema == nil {
		return Value{}
	}
	if i := e.Schema.Index(name); i >= 0 && i < len(e.Fields) {
		return e.Fields[i]
	}
	return Value{}
}

// Joined returns the record joined under name, and whether a join of that
// name happened at all. The record is nil when the lookup found nothing.
func (e *Event) Joined(name string) (*Record, bool) {
	for i := range e.Joins {
		if e.Joins[i].Name == name {
			return e.Joins[i].Rec, true
		}
	}
	return nil, false
}

// SetJoin attaches (or replaces) a named record.
func (e *Event) SetJoin(name string, rec *Record) {
	for i := range e.Joins {
		if e.Joins[i].Name == name {
			e.Joins[i].Rec = rec
			return
		}
	}
	e.Joins = append(e.Joins, Join{Name: name, Rec: rec})
}

// WindowInfo is the result of a window: what rules read as `window`.
type WindowInfo struct {
	Name  string // the window operator's name, e.g. "repeats"
	Kind  string // "tumbling", "sliding", "session", "count_within"
	Key   string // the window's key (joined key fields)
	Start int64  // window start, unix nanoseconds (inclusive)
	End   int64  // window end, unix nanoseconds (exclusive; for count-within the last event time)
	Count int64  // number of events in the window
	First int64  // event time of the first event, unix nanoseconds
	Last  int64  // event time of the last event, unix nanoseconds
	// Aggs holds aggregate results by name.
	Aggs map[string]Value
	// Update is true when this result re-fires a window already emitted
	// (a late event within the allowed lateness changed it).
	Update bool
	// Steps are the events a sequence matched, one per step in order (nil
	// for other windows): each one's time and fields, in the schema of the
	// result's event.
	Steps []Matched
}

// Matched is an event a pattern matched: its time and fields.
type Matched struct {
	Time   int64
	Fields []Value
}

// Span returns Last-First.
func (w *WindowInfo) Span() time.Duration { return time.Duration(w.Last - w.First) }

// Fingerprint is a hash (FNV-1a, 64 bits) of the event's time and fields:
// with its position, what tells a record read at one place apart from
// another record read at the same place later (a file replaced under the
// same name, stdin of another run), for ids of events that have no id
// field. Equal events have equal fingerprints, so replays keep their ids.
func (e *Event) Fingerprint() uint64 {
	h := fnv.New64a()
	var b []byte
	b = strconv.AppendInt(b, e.Time, 10)
	for _, v := range e.Fields {
		b = append(b, 0, byte(v.Kind()))
		b = v.AppendText(b)
	}
	h.Write(b)
	return h.Sum64()
}

// AppendFingerprint appends the fingerprint as 16 hex digits.
func (e *Event) AppendFingerprint(b []byte) []byte {
	f := e.Fingerprint()
	const hex = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hex[f>>uint(shift)&0xf])
	}
	return b
}
