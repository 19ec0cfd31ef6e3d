package enrich

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/rulestream/rulestream/stream"
)

// Table describes reference data in a CSV file with a header, loaded by
// LoadTable into one Redis hash per row.
type Table struct {
	// Name names the table in reports, progress and errors ("account").
	Name string
	// Key is the template of each row's hash key over the table's hash
	// fields (Column.Field), in stream.Template syntax: "account:{id}".
	// LoadConfig.Prefix goes before it. It needs at least one placeholder;
	// a row with an empty value for one is reported and skipped.
	Key string
	// Columns are the CSV columns loaded, one hash field each, in this
	// order. Header columns not listed are ignored; a listed one missing
	// from the header is an error (ErrHeader). Empty (nil): every header
	// column becomes a hash field of the same name, as a string.
	Columns []Column
}

// Column maps a CSV column to a hash field.
type Column struct {
	// Header is the column's name in the CSV header, matched
	// case-insensitively after trimming spaces (and a byte-order mark).
	Header string
	// Field is the hash field written. Default: Header.
	Field string
	// Kind is the type the value must have: stream.KindInt, KindFloat,
	// KindBool or KindTime are checked as the lookups parse them
	// (stream.ParseValue); KindString or zero accepts any text. An empty
	// value passes: a lookup reads it as null. The check applies after
	// Convert.
	Kind stream.Kind
	// Convert, if set, checks and rewrites the value before it is written,
	// say a date from MM/DD/YYYY to YYYY-MM-DD. Its error should quote the
	// value (`"02/30/2013" is not a valid date`): the row's report is the
	// column's Header followed by the error's text.
	Convert func(string) (string, error)
}

// field is the hash field of c.
func (c Column) field() string {
	if c.Field == "" {
		return strings.TrimSpace(c.Header)
	}
	return c.Field
}

// Validate reports settings that cannot work. With empty Columns, the
// fields of Key are checked against the header when a load begins.
func (t Table) Validate() error {
	var errs []error
	if t.Name == "" {
		errs = append(errs, errors.New("enrich: Table.Name is required"))
	}
	name := t.Name
	if name == "" {
		name = "(unnamed)"
	}
	var key *stream.Template
	if t.Key == "" {
		errs = append(errs, fmt.Errorf("enrich: table %s: Key is required", name))
	} else if k, err := keyTemplate(t.Key); err != nil {
		errs = append(errs, fmt.Errorf("enrich: table %s: Key: %w", name, err))
	} else {
		key = k
	}
	var headers, fields []string
	for i, c := range t.Columns {
		h := strings.TrimSpace(c.Header)
		switch {
		case h == "":
			errs = append(errs, fmt.Errorf("enrich: table %s: column %d has no Header", name, i))
		case slices.ContainsFunc(headers, func(x string) bool { return strings.EqualFold(x, h) }):
			errs = append(errs, fmt.Errorf("enrich: table %s: column %q listed twice", name, h))
		}
		headers = append(headers, h)
		f := c.field()
		if f != "" && slices.Contains(fields, f) {
			errs = append(errs, fmt.Errorf("enrich: table %s: field %q written by two columns", name, f))
		}
		fields = append(fields, f)
		if c.Kind > stream.KindTime {
			errs = append(errs, fmt.Errorf("enrich: table %s: column %q: %v is not a kind", name, h, c.Kind))
		}
	}
	if key != nil && len(t.Columns) > 0 {
		for _, f := range key.Fields() {
			if !slices.Contains(fields, f) {
				errs = append(errs, fmt.Errorf("enrich: table %s: Key %q reads field %q, which no column writes (fields %s)",
					name, t.Key, f, strings.Join(fields, ",")))
			}
		}
	}
	return errors.Join(errs...)
}

// layout is a Table matched to a header: where each column is, the boxed
// field names, and the key's fields.
type layout struct {
	cols   []Column
	order  []int // CSV column index of each of cols
	fields []any // hash field names (strings), one per column, boxed once
	key    *stream.Template
	keyCol []int        // index in cols of each distinct field of key
	keyEv  stream.Event // scratch event holding the key's fields
}

// newLayout matches t (valid) to the header's cells.
func newLayout(t Table, header []string) (*layout, error) {
	lay := &layout{cols: t.Columns}
	if len(lay.cols) == 0 {
		lay.cols = make([]Column, len(header))
		for i, h := range header {
			h = strings.TrimSpace(h)
			if h == "" {
				return nil, fmt.Errorf("header column %d has no name (have %s)", i+1, strings.Join(header, ","))
			}
			if slices.ContainsFunc(lay.cols[:i], func(c Column) bool { return c.Header == h }) {
				return nil, fmt.Errorf("header names %q twice (have %s)", h, strings.Join(header, ","))
			}
			lay.cols[i] = Column{Header: h}
		}
	}
	lay.order = make([]int, len(lay.cols))
	for i, c := range lay.cols {
		want := strings.TrimSpace(c.Header)
		lay.order[i] = slices.IndexFunc(header, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), want) })
		if lay.order[i] < 0 {
			return nil, fmt.Errorf("%w %q (have %s)", ErrHeader, want, strings.Join(header, ","))
		}
		lay.fields = append(lay.fields, c.field())
	}
	lay.key, _ = keyTemplate(t.Key) // checked by Validate
	var keyFields []stream.Field
	for _, f := range lay.key.Fields() {
		if slices.ContainsFunc(keyFields, func(x stream.Field) bool { return x.Name == f }) {
			continue
		}
		i := slices.Index(lay.fields, any(f))
		if i < 0 {
			return nil, fmt.Errorf("%w for key %q: no column %q (have %s)", ErrHeader, t.Key, f, strings.Join(header, ","))
		}
		keyFields = append(keyFields, stream.Field{Name: f, Kind: stream.KindString})
		lay.keyCol = append(lay.keyCol, i)
	}
	lay.keyEv.Schema = stream.MustSchema("key", keyFields...)
	lay.keyEv.Fields = make([]stream.Value, len(keyFields))
	return lay, nil
}

// convert checks and rewrites the values of one row in place (vals[i] is
// the value of cols[i]); the error is the row's report.
func (lay *layout) convert(vals []string) error {
	for i, c := range lay.cols {
		v := vals[i]
		if c.Convert != nil {
			var err error
			if v, err = c.Convert(v); err != nil {
				return fmt.Errorf("%s %w", c.Header, err)
			}
			vals[i] = v
		}
		if v != "" && c.Kind > stream.KindString {
			pv, err := stream.ParseValue(c.Kind, v)
			if err != nil {
				return fmt.Errorf("%s %w", c.Header, err)
			}
			if c.Kind == stream.KindInt {
				// The canonical decimal: a key built from it ("007" and
				// "+7" as 7) is the key a lookup builds from the event's
				// int.
				vals[i] = pv.Text()
			}
		}
	}
	return nil
}

// appendKey appends the key of a converted row to b.
func (lay *layout) appendKey(b []byte, vals []string) ([]byte, error) {
	for j, i := range lay.keyCol {
		if vals[i] == "" {
			return b, fmt.Errorf("%s is empty: key %s needs it", lay.cols[i].Header, lay.key)
		}
		lay.keyEv.Fields[j] = stream.String(vals[i])
	}
	return lay.key.AppendTo(b, &lay.keyEv)
}
