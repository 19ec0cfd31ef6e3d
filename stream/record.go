package stream

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// RecordSpec declares the records a decoder reads before it reads any: their
// schema, the field holding the event time and how time fields are written,
// and the fields forming the key. The decoders built from one
// (NewColumnsDecoder, NewHeaderCSVDecoder, NewJSONDecoder) return the schema
// from Schema() from the start, so that rules and operators can be checked
// against it before the first record.
type RecordSpec struct {
	// Schema types the fields; every decoded event carries it. Required.
	Schema *Schema
	// TimeField names the field whose value becomes the event time; it must
	// have kind time, and a record without it is rejected. Empty: events
	// have time 0 (for processing-time pipelines).
	TimeField string
	// TimeFormats gives the format of time fields by name. A time field not
	// named here is read in the "datetime" format (the zero TimeFormat).
	TimeFormats map[string]TimeFormat
	// EventTimes, when not zero, bounds the event time: a record whose time
	// field lies outside is rejected (an *EventTimeError, which matches
	// ErrTimeOutOfRange), so that it goes to the dead letter with its raw
	// bytes. Zero: every time a TimeFormat reads (MinTimeNanos to
	// MaxTimeNanos). Other time fields are not bounded by it.
	EventTimes TimeRange
	// KeyFields name the fields whose values form the event key: the text of
	// one field (an int in canonical decimal), or the texts of several
	// joined with '|'. A record whose key field is null or empty is
	// rejected. Empty: events have no key.
	KeyFields []string
}

// Validate reports a spec that cannot work, naming the fields at fault.
func (s RecordSpec) Validate() error {
	_, err := s.plan()
	return err
}

// Errors of decoded fields, wrapped in a *FieldError.
var (
	// ErrEmptyKey: a key field is null or empty.
	ErrEmptyKey = errors.New("empty key field")
	// ErrNoTime: the time field is missing or null.
	ErrNoTime = errors.New("missing time field")
	// ErrUnknownField: a strict decoder met a name that is not in its schema.
	ErrUnknownField = errors.New("unknown field")
	// ErrDuplicateField: a record names a field twice.
	ErrDuplicateField = errors.New("duplicate field")
)

// FieldError is a decode error of one field of a record.
type FieldError struct {
	Field string
	Err   error
}

// Error names the field: "field x: reason", "key field x is empty", ...
func (e *FieldError) Error() string {
	switch e.Err {
	case ErrEmptyKey:
		return "key field " + e.Field + " is empty"
	case ErrNoTime:
		return "time field " + e.Field + " is missing"
	case ErrUnknownField:
		return "unknown field " + strconv.Quote(e.Field)
	case ErrDuplicateField:
		return "field " + e.Field + " appears twice"
	}
	return "field " + e.Field + ": " + e.Err.Error()
}

// Unwrap returns the reason.
func (e *FieldError) Unwrap() error { return e.Err }

// recordPlan is a validated RecordSpec in terms of field positions.
type recordPlan struct {
	schema  *Schema
	timeIdx int          // -1: no time field
	formats []TimeFormat // by field position
	keyIdx  []int
	times   TimeRange // the EventTimes; zero: unbounded beyond the formats
}

func (s RecordSpec) plan() (recordPlan, error) {
	if s.Schema == nil {
		return recordPlan{}, errors.New("record spec: no schema")
	}
	sc := s.Schema
	p := recordPlan{schema: sc, timeIdx: -1, formats: make([]TimeFormat, sc.Len()), times: s.EventTimes}
	var errs []error
	if r := s.EventTimes; !r.IsZero() && (r.Min > r.Max || r.Min < MinTimeNanos) {
		errs = append(errs, fmt.Errorf("event times: min %d and max %d are not a range within %d to %d", r.Min, r.Max, MinTimeNanos, MaxTimeNanos))
	}
	if s.TimeField != "" {
		p.timeIdx = sc.Index(s.TimeField)
		switch {
		case p.timeIdx < 0:
			errs = append(errs, fmt.Errorf("time field %q is not in schema %s", s.TimeField, sc.Name()))
		case sc.Field(p.timeIdx).Kind != KindTime:
			errs = append(errs, fmt.Errorf("time field %q has kind %v, want time", s.TimeField, sc.Field(p.timeIdx).Kind))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.TimeFormats)) {
		i := sc.Index(name)
		switch {
		case i < 0:
			errs = append(errs, fmt.Errorf("time format of %q: no such field in schema %s", name, sc.Name()))
		case sc.Field(i).Kind != KindTime:
			errs = append(errs, fmt.Errorf("time format of %q: the field has kind %v, not time", name, sc.Field(i).Kind))
		default:
			p.formats[i] = s.TimeFormats[name]
		}
	}
	for _, name := range s.KeyFields {
		i := sc.Index(name)
		switch {
		case i < 0:
			errs = append(errs, fmt.Errorf("key field %q is not in schema %s", name, sc.Name()))
		case containsInt(p.keyIdx, i):
			errs = append(errs, fmt.Errorf("key field %q named twice", name))
		default:
			p.keyIdx = append(p.keyIdx, i)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return recordPlan{}, fmt.Errorf("record spec: %w", err)
	}
	return p, nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// fieldErr names field i in err.
func (p *recordPlan) fieldErr(i int, err error) error {
	return &FieldError{Field: p.schema.Field(i).Name, Err: err}
}

// fields returns ev.Fields sized for the schema, allocating only when the
// caller passed too few.
func (p *recordPlan) fields(ev *Event) []Value {
	n := p.schema.Len()
	if len(ev.Fields) < n {
		ev.Fields = make([]Value, n)
	}
	ev.Schema = p.schema
	return ev.Fields[:n]
}

// setTime sets ev.Time from the time field.
func (p *recordPlan) setTime(ev *Event) error {
	if p.timeIdx < 0 {
		return nil
	}
	v := ev.Fields[p.timeIdx]
	if v.k != KindTime {
		return p.fieldErr(p.timeIdx, ErrNoTime)
	}
	ev.Time = v.n
	return p.checkTime(ev.Time)
}

// checkTime reports an event time outside the spec's EventTimes.
func (p *recordPlan) checkTime(ns int64) error {
	if p.times.IsZero() || p.times.Contains(ns) {
		return nil
	}
	return p.fieldErr(p.timeIdx, &EventTimeError{Time: ns, Range: p.times})
}

// setKey sets ev.Key from the key fields. raw is the text the first key
// field was read from ("" when unknown): a single int key shares it when it
// is already canonical.
func (p *recordPlan) setKey(ev *Event, raw string) error {
	switch len(p.keyIdx) {
	case 0:
		return nil
	case 1:
		k, ok := keyText(ev.Fields[p.keyIdx[0]], raw)
		if !ok {
			return p.fieldErr(p.keyIdx[0], ErrEmptyKey)
		}
		ev.Key = k
		return nil
	}
	var small [64]byte
	b := small[:0]
	for j, i := range p.keyIdx {
		v := ev.Fields[i]
		if v.k == KindNull || (v.k == KindString && v.s == "") {
			return p.fieldErr(i, ErrEmptyKey)
		}
		if j > 0 {
			b = append(b, '|')
		}
		b = v.AppendText(b)
	}
	ev.Key = string(b)
	return nil
}

// keyText is the key form of v: a string as it is, an int in canonical
// decimal (raw itself when it already is), others as Value.Text. It is false
// for null and the empty string.
func keyText(v Value, raw string) (string, bool) {
	switch v.k {
	case KindNull:
		return "", false
	case KindString:
		return v.s, v.s != ""
	case KindInt:
		if raw != "" && canonicalInt(raw) {
			return raw, true
		}
		return strconv.FormatInt(v.n, 10), true
	}
	return v.Text(), true
}
