package stream

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// CSVSpec describes a header-mapped CSV whose schema is built from its
// header: the header names the columns; the spec gives their types, the
// event-time column and the key columns. Prefer NewHeaderCSVDecoder, whose
// schema is declared before the header is read.
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

// CSVConfig configures a CSVDecoder built on a declared schema.
type CSVConfig struct {
	// Strict makes a header column that names no field of the schema an
	// error. Default false: such columns are skipped.
	Strict bool
}

// CSVDecoder decodes header-mapped CSV. Use it as a HeaderDecoder: the
// file source passes it the header line, and decodes the other lines with
// the decoder Header returns. Cells are read as by ColumnsDecoder.
type CSVDecoder struct {
	spec   CSVSpec     // schema-from-header mode (decl == nil)
	decl   *recordPlan // the declared record, if any
	strict bool
	layout *csvLayout // set once the header was read
}

// NewCSVDecoder returns a decoder that builds its schema from the header:
// Schema returns nil until then.
func NewCSVDecoder(spec CSVSpec) *CSVDecoder {
	if spec.Name == "" {
		spec.Name = "csv"
	}
	return &CSVDecoder{spec: spec, strict: spec.Strict}
}

// NewHeaderCSVDecoder returns a decoder of CSV with a header, over a declared
// schema: Schema returns spec.Schema from the start, and Header maps the
// header's names (trimmed) to the declared fields. A declared field missing
// from the header is an error; other columns are skipped unless cfg.Strict.
func NewHeaderCSVDecoder(spec RecordSpec, cfg CSVConfig) (*CSVDecoder, error) {
	plan, err := spec.plan()
	if err != nil {
		return nil, fmt.Errorf("CSV decoder: %w", err)
	}
	return &CSVDecoder{decl: &plan, strict: cfg.Strict}, nil
}

// Schema returns the declared schema, or the one built from the header, or
// nil before the header when the schema comes from it.
func (d *CSVDecoder) Schema() *Schema {
	switch {
	case d.layout != nil:
		return d.layout.plan.schema
	case d.decl != nil:
		return d.decl.schema
	}
	return nil
}

// Header reads the header line (a UTF-8 BOM is ignored) and returns the
// decoder of the lines that follow it. d itself does not change.
func (d *CSVDecoder) Header(line string) (Decoder, error) {
	line = strings.TrimPrefix(line, "\ufeff")
	names, err := splitCSV(line, nil)
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	plan := d.decl
	if plan == nil {
		if plan, err = d.planFromHeader(names); err != nil {
			return nil, err
		}
	}
	sc := plan.schema
	colOf := make([]int, sc.Len())
	for i := range colOf {
		colOf[i] = -1
	}
	cols := make([]column, len(names))
	var errs []error
	for i, name := range names {
		cols[i].field = -1
		f := sc.Index(name)
		switch {
		case f < 0:
			if d.strict {
				errs = append(errs, fmt.Errorf("header: column %q is not a field of schema %s", name, sc.Name()))
			}
		case colOf[f] >= 0:
			errs = append(errs, fmt.Errorf("header: columns %d and %d are both %q", colOf[f]+1, i+1, name))
		default:
			colOf[f] = i
			cols[i] = plan.column(f)
		}
	}
	for f, c := range colOf {
		if c < 0 {
			errs = append(errs, fmt.Errorf("header: no column %q (header: %s)", sc.Field(f).Name, line))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	layout := newCSVLayout(*plan, cols)
	layout.countErr = func(n int) error { return fmt.Errorf("%d columns, header has %d", n, len(cols)) }
	return &CSVDecoder{spec: d.spec, decl: d.decl, strict: d.strict, layout: &layout}, nil
}

// planFromHeader builds the schema of the schema-from-header mode.
func (d *CSVDecoder) planFromHeader(cols []string) (*recordPlan, error) {
	fields := make([]Field, len(cols))
	var errs []error
	for i, c := range cols {
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
	if d.spec.TimeField != "" {
		if i := schema.Index(d.spec.TimeField); i < 0 {
			errs = append(errs, fmt.Errorf("header: no time column %q", d.spec.TimeField))
		} else if schema.Field(i).Kind != KindTime {
			errs = append(errs, fmt.Errorf("header: time column %q must have kind time", d.spec.TimeField))
		}
	}
	for _, k := range d.spec.KeyFields {
		if schema.Index(k) < 0 {
			errs = append(errs, fmt.Errorf("header: no key column %q", k))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	plan, err := RecordSpec{Schema: schema, TimeField: d.spec.TimeField, KeyFields: d.spec.KeyFields}.plan()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	return &plan, nil
}

// Decode implements Decoder.
func (d *CSVDecoder) Decode(line string, ev *Event) error {
	if d.layout == nil {
		return errors.New("CSV decoder used before its header")
	}
	return d.layout.decode(line, ev)
}
