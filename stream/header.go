package stream

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// CSVSpec describes a header-mapped CSV: the header names the columns; the
// spec gives their types, the event-time column and the key columns.
type CSVSpec struct {
	// Name of the schema built from the header. Default "csv".
	Name string
	// Types gives the kind of named columns; others are strings.
	Types map[string]Kind
	// TimeField is the column holding the event time (its kind is time).
	// Empty: events have time 0 (use processing-time mode).
	TimeField string
	// KeyFields are joined with '|' to form the key. Empty: no key.
	KeyFields []string
	// Strict rejects columns not named in Types. Default false.
	Strict bool
}

// CSVDecoder decodes header-mapped CSV. Use it as a HeaderDecoder: the
// file source passes it the header line.
type CSVDecoder struct {
	spec    CSVSpec
	schema  *Schema
	timeIdx int
	keyIdx  []int
}

// NewCSVDecoder returns a decoder that waits for its header.
func NewCSVDecoder(spec CSVSpec) *CSVDecoder {
	if spec.Name == "" {
		spec.Name = "csv"
	}
	return &CSVDecoder{spec: spec, timeIdx: -1}
}

// Schema returns the schema built from the header, or nil before it.
func (d *CSVDecoder) Schema() *Schema { return d.schema }

// Header builds the schema from the header line.
func (d *CSVDecoder) Header(line string) (Decoder, error) {
	line = strings.TrimPrefix(line, "\ufeff")
	cols, err := splitCSV(line, nil)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	fields := make([]Field, len(cols))
	var errs []error
	for i, c := range cols {
		c = strings.TrimSpace(c)
		k, ok := d.spec.Types[c]
		if !ok {
			if d.spec.Strict {
				errs = append(errs, fmt.Errorf("header: unknown column %q", c))
			}
			k = KindString
		}
		fields[i] = Field{Name: c, Kind: k}
	}
	schema, err := NewSchema(d.spec.Name, fields...)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	var missing []string
	for name := range d.spec.Types {
		if schema.Index(name) < 0 {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		errs = append(errs, fmt.Errorf("header: no column %q (have %s)", m, strings.Join(cols, ",")))
	}
	nd := &CSVDecoder{spec: d.spec, schema: schema, timeIdx: -1}
	if d.spec.TimeField != "" {
		nd.timeIdx = schema.Index(d.spec.TimeField)
		if nd.timeIdx < 0 {
			errs = append(errs, fmt.Errorf("header: no time column %q", d.spec.TimeField))
		} else if schema.Field(nd.timeIdx).Kind != KindTime {
			errs = append(errs, fmt.Errorf("header: time column %q must have kind time", d.spec.TimeField))
		}
	}
	for _, k := range d.spec.KeyFields {
		i := schema.Index(k)
		if i < 0 {
			errs = append(errs, fmt.Errorf("header: no key column %q", k))
		}
		nd.keyIdx = append(nd.keyIdx, i)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return nd, nil
}

// Decode implements Decoder.
func (d *CSVDecoder) Decode(line string, ev *Event) error {
	if d.schema == nil {
		return errors.New("CSV decoder used before its header")
	}
	var buf [16]string
	cols, err := splitCSV(line, buf[:0])
	if err != nil {
		return err
	}
	if len(cols) != d.schema.Len() {
		return fmt.Errorf("%d columns, header has %d", len(cols), d.schema.Len())
	}
	for i, c := range cols {
		f := d.schema.Field(i)
		v, err := ParseValue(f.Kind, c)
		if err != nil {
			return fmt.Errorf("column %s: %w", f.Name, err)
		}
		ev.Fields[i] = v
	}
	ev.Schema = d.schema
	if d.timeIdx >= 0 {
		ev.Time = ev.Fields[d.timeIdx].Nanos()
	}
	switch len(d.keyIdx) {
	case 0:
	case 1:
		ev.Key = ev.Fields[d.keyIdx[0]].Text()
	default:
		parts := make([]string, len(d.keyIdx))
		for i, k := range d.keyIdx {
			parts[i] = ev.Fields[k].Text()
		}
		ev.Key = strings.Join(parts, "|")
	}
	return nil
}
