package stream

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// windowTimes is the range windows hold (window.EventTimes, which this
// package cannot import).
var windowTimes = TimeRange{Min: -1<<62 + 1, Max: 1<<62 - 1, What: "the event times windows can hold"}

const windowTimesText = "the event times windows can hold (1823-11-12T00:06:22Z to 2116-02-20T23:53:38Z)"

// readAll reads src to its end and returns its events and rejects.
func readAll(t *testing.T, src Source) ([]Event, []Reject) {
	t.Helper()
	var evs []Event
	var rejs []Reject
	for {
		b, err := src.Read(context.Background())
		evs = append(evs, b.Events...)
		rejs = append(rejs, b.Rejects...)
		if errors.Is(err, ErrEndOfInput) {
			return evs, rejs
		}
		require.NoError(t, err)
	}
}

// A RecordSpec's EventTimes: every decoder refuses a record whose event
// time is outside, naming the field, the time and the range; the reject
// keeps the line's raw bytes and its position. The bounds are inside;
// other time fields are not bounded; times beyond what int64 nanoseconds
// hold are refused by the format first.
func TestEventTimesEveryDecoder(t *testing.T) {
	sc := MustSchema("e", Field{Name: "id", Kind: KindInt}, Field{Name: "at", Kind: KindTime}, Field{Name: "other", Kind: KindTime})
	type row struct{ id, at, other string }
	for _, f := range []struct {
		format string
		text   func(ns int64) string // the event time written in the format
	}{
		{"datetime", MustParseTimeFormat("datetime").Format},
		{"rfc3339", MustParseTimeFormat("rfc3339").Format},
		{"unix", MustParseTimeFormat("unix").Format},
		{"unix_ms", MustParseTimeFormat("unix_ms").Format},
		{"unix_us", MustParseTimeFormat("unix_us").Format},
		{"unix_ns", MustParseTimeFormat("unix_ns").Format},
		{"2006-01-02T15:04:05.999999999", MustParseTimeFormat("2006-01-02T15:04:05.999999999").Format},
	} {
		tf := MustParseTimeFormat(f.format)
		spec := RecordSpec{Schema: sc, TimeField: "at", KeyFields: []string{"id"}, EventTimes: windowTimes,
			TimeFormats: map[string]TimeFormat{"at": tf}}
		unit := int64(1)
		switch f.format {
		case "unix_ms":
			unit = 1e6
		case "unix_us":
			unit = 1e3
		}
		lo, hi := (windowTimes.Min+unit-1)/unit*unit, windowTimes.Max/unit*unit // the bounds, in the format's unit
		year2200 := ns(2200, 1, 1, 0, 0, 0, 0)
		year1800 := ns(1800, 1, 1, 0, 0, 0, 0)
		rows := []row{
			{"1", f.text(ns(2014, 10, 1, 0, 0, 0, 0)), "2014-10-01 00:00:00"},
			{"2", f.text(year2200), "2014-10-01 00:00:00"},
			{"3", f.text(hi), "2200-01-01 00:00:00"}, // other time fields are not bounded
			{"4", f.text(lo), "1700-01-01 00:00:00"},
			{"5", f.text(year1800), "2014-10-01 00:00:00"},
			{"6", f.text(hi + unit), "2014-10-01 00:00:00"},
		}
		wantReason := map[string]string{
			"2": "field at: event time 2200-01-01T00:00:00Z is outside " + windowTimesText,
			"5": "field at: event time 1800-01-01T00:00:00Z is outside " + windowTimesText,
			"6": fmt.Sprintf("field at: event time %s is outside %s", time.Unix(0, hi+unit).UTC().Format(time.RFC3339Nano), windowTimesText),
		}
		// Past 2262 (unix: seconds times 1e9 overflow int64) the format
		// refuses the text itself.
		far := map[string]string{
			"datetime": "9999-12-31 23:59:59", "rfc3339": "9999-12-31T23:59:59Z", "unix": "253402300799",
			"unix_ms": "253402300799000", "unix_us": "253402300799000000", "unix_ns": "99999999999999999999",
			"2006-01-02T15:04:05.999999999": "9999-12-31T23:59:59",
		}[f.format]
		rows = append(rows, row{"7", far, "2014-10-01 00:00:00"})
		wantReason["7"] = fmt.Sprintf("field at: %q is outside the representable time range (1678-01-01 to 2262-04-11)", far)

		for _, d := range []struct {
			name   string
			header string
			line   func(r row) string
			dec    func() (Decoder, error)
		}{
			{"columns", "", func(r row) string { return fmt.Sprintf("%s,%q,%s", r.id, r.at, r.other) },
				func() (Decoder, error) { return NewColumnsDecoder(spec, []string{"id", "at", "other"}) }},
			{"header csv", "other,id,at\n", func(r row) string { return fmt.Sprintf("%s,%s,%q", r.other, r.id, r.at) },
				func() (Decoder, error) { return NewHeaderCSVDecoder(spec, CSVConfig{}) }},
			{"json", "", func(r row) string { return fmt.Sprintf(`{"id": %s, "at": %q, "other": %q}`, r.id, r.at, r.other) },
				func() (Decoder, error) { return NewJSONDecoder(spec, JSONConfig{}) }},
			{"json number", "", func(r row) string { return fmt.Sprintf(`{"id": %s, "at": %s, "other": %q}`, r.id, r.at, r.other) },
				func() (Decoder, error) { return NewJSONDecoder(spec, JSONConfig{}) }},
		} {
			if d.name == "json number" && !tf.Numeric() {
				continue
			}
			t.Run(f.format+"/"+d.name, func(t *testing.T) {
				dec, err := d.dec()
				require.NoError(t, err)
				var in strings.Builder
				in.WriteString(d.header)
				lines := map[string]string{}
				for _, r := range rows {
					lines[r.id] = d.line(r)
					in.WriteString(lines[r.id] + "\n")
				}
				first := int64(1)
				if d.header != "" {
					first = 2
				}
				evs, rejs := readAll(t, NewReaderSource("in", strings.NewReader(in.String()), dec, FileConfig{}))
				var ids []int64
				for _, ev := range evs {
					ids = append(ids, ev.Get("id").Int())
					require.True(t, windowTimes.Contains(ev.Time), "event %d at %d", ev.Get("id").Int(), ev.Time)
				}
				require.Equal(t, []int64{1, 3, 4}, ids)
				require.Equal(t, hi, evs[1].Time)
				require.Equal(t, lo, evs[2].Time)
				require.Len(t, rejs, len(wantReason))
				for _, rej := range rejs {
					id := fmt.Sprint(rej.Pos.Offset - first + 1)
					require.Equal(t, lines[id], string(rej.Raw), "the raw line")
					require.Equal(t, wantReason[id], rej.Reason, "line %d", rej.Pos.Offset)
					require.Equal(t, Position{Source: "in", Partition: -1, Offset: rej.Pos.Offset, Line: true}, rej.Pos)
				}
				if d.header != "" {
					return // a header decoder decodes through a source
				}
				var ev Event
				err = dec.Decode(lines["2"], &ev)
				require.ErrorIs(t, err, ErrTimeOutOfRange)
				var fe *FieldError
				require.ErrorAs(t, err, &fe)
				require.Equal(t, "at", fe.Field)
				var te *EventTimeError
				require.ErrorAs(t, err, &te)
				require.Equal(t, year2200, te.Time)
			})
		}
	}
}

// Without EventTimes, a decoder takes every time its format reads.
func TestEventTimesZeroIsEveryTime(t *testing.T) {
	require.True(t, TimeRange{}.IsZero())
	require.True(t, TimeRange{}.Contains(MinTimeNanos))
	require.True(t, TimeRange{}.Contains(MaxTimeNanos))
	require.False(t, TimeRange{}.Contains(MinTimeNanos-1))
	require.Equal(t, "1678-01-01T00:00:00Z to 2262-04-11T23:47:16Z", TimeRange{}.String())
	sc := MustSchema("e", Field{Name: "at", Kind: KindTime})
	d, err := NewColumnsDecoder(RecordSpec{Schema: sc, TimeField: "at"}, []string{"at"})
	require.NoError(t, err)
	var ev Event
	require.NoError(t, d.Decode("2262-04-11 23:47:16", &ev))
	require.Equal(t, ns(2262, 4, 11, 23, 47, 16, 0), ev.Time)
	require.NoError(t, d.Decode("1678-01-01 00:00:00", &ev))
	require.Equal(t, MinTimeNanos, ev.Time)

	err = RecordSpec{Schema: sc, TimeField: "at", EventTimes: TimeRange{Min: 5, Max: 4}}.Validate()
	require.ErrorContains(t, err, "event times: min 5 and max 4 are not a range")
	err = RecordSpec{Schema: sc, TimeField: "at", EventTimes: TimeRange{Min: MinTimeNanos - 1, Max: 4}}.Validate()
	require.ErrorContains(t, err, "event times: min")
	require.EqualError(t, &EventTimeError{Time: 0, Range: TimeRange{Min: -1, Max: -1}},
		"event time 1970-01-01T00:00:00Z is outside the accepted event times (1970-01-01T00:00:00Z to 1969-12-31T23:59:59Z)")
}

// EventReject: an operator's reject of an event keeps its position, the
// reason and its fields' text as raw bytes.
func TestEventReject(t *testing.T) {
	sc := MustSchema("e", Field{Name: "id", Kind: KindInt}, Field{Name: "at", Kind: KindTime},
		Field{Name: "name", Kind: KindString}, Field{Name: "ok", Kind: KindBool}, Field{Name: "x", Kind: KindFloat}, Field{Name: "n", Kind: KindInt})
	ev := Event{Pos: Position{Source: "f.csv", Partition: -1, Offset: 7, Line: true}, Schema: sc,
		Fields: []Value{Int(3), TimeNanos(ns(2200, 1, 1, 0, 0, 0, 5)), String("a b"), Bool(true), Float(1.5), {}}}
	r := EventReject(&ev, "why")
	require.Equal(t, Reject{Pos: ev.Pos, Reason: "why", Raw: []byte("3,2200-01-01T00:00:00.000000005Z,a b,1,1.5,")}, r)
	dl := DeadLetterEvent(r)
	require.Equal(t, "3,2200-01-01T00:00:00.000000005Z,a b,1,1.5,", dl.Get("raw").Str())
	require.Equal(t, "f.csv:7", dl.Get("position").Str())
}
