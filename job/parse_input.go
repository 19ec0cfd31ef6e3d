package job

import (
	"path/filepath"
	"slices"

	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
)

// parseInput reads the input: its source, format, fields, time, id and key,
// and builds the events' schema when it is sound.
func (j *Job) parseInput(c *errs, o *obj, before int) {
	if o == nil {
		return
	}
	in := &j.Input
	in.Path = o.str("path")
	if k := o.obj("kafka"); k != nil {
		in.Kafka = &Kafka{Brokers: k.strs("brokers"), Topic: k.str("topic"), Group: k.str("group"), Offset: k.str("offset")}
		if in.Kafka.Offset == "" {
			in.Kafka.Offset = "oldest"
		}
	}
	switch {
	case in.Path == "" && in.Kafka == nil:
		c.add(o.n, o.path, "want path (a file, a glob or -) or kafka")
	case in.Path != "" && in.Kafka != nil:
		c.add(o.keys["kafka"], o.path, "give path or kafka, not both")
	}
	if in.Path != "" && in.Path != "-" && !filepath.IsAbs(in.Path) {
		in.Path = filepath.Join(j.dir, in.Path)
	}
	in.Format = o.str("format")
	if in.Format == "" {
		in.Format = "csv"
	}
	in.Header = o.boolean("header")
	in.Columns = o.strs("columns")
	in.Strict = o.boolean("strict")
	in.Fields = j.parseFields(c, o, "fields")
	in.Time = o.str("time")
	in.ID = o.str("id")
	in.Key = o.strs("key")
	need := func(key, name string, kinds ...stream.Kind) {
		if name == "" {
			return
		}
		i := fieldIndex(in.Fields, name)
		switch {
		case i < 0:
			c.add(o.node(key), join(o.path, key), "no field %q (fields: %s)", name, fieldNames(in.Fields))
		case len(kinds) > 0 && !slices.Contains(kinds, in.Fields[i].Kind):
			c.add(o.node(key), join(o.path, key), "field %q is %s; want %v", name, article(in.Fields[i].Kind), kinds[0])
		}
	}
	need("time", in.Time, stream.KindTime)
	need("id", in.ID)
	for i, k := range in.Key {
		if fieldIndex(in.Fields, k) < 0 {
			c.add(o.strNodes("key")[i], join(o.path, "key"), "no field %q (fields: %s)", k, fieldNames(in.Fields))
		}
	}
	noRepeats(c, o, "key")
	for _, f := range in.Fields {
		if slices.Contains(rules.MetaFields(), f.Name) {
			c.add(o.node("fields"), join(o.path, "fields"), "field %q: emissions carry their own %s; rename the input's field", f.Name, f.Name)
		}
	}
	switch in.Format {
	case "csv":
		switch {
		case in.Header && o.has("columns"):
			c.add(o.keys["columns"], o.path, "columns is for CSV without a header (the header names the columns)")
		case !in.Header && !o.has("columns"):
			c.add(o.n, o.path, "missing columns: a CSV without header needs the field of each column (or header: true)")
		case !in.Header:
			seen := map[string]bool{}
			nodes := o.strNodes("columns")
			for i, col := range in.Columns {
				if col == "_" || col == "" {
					continue
				}
				if fieldIndex(in.Fields, col) < 0 {
					c.add(nodes[i], join(o.path, "columns"), "column %d: no field %q (fields: %s)", i+1, col, fieldNames(in.Fields))
				} else if seen[col] {
					c.add(nodes[i], join(o.path, "columns"), "column %d: field %q is already column %d", i+1, col, slices.Index(in.Columns, col)+1)
				}
				seen[col] = true
			}
			for _, f := range in.Fields {
				if !seen[f.Name] && o.has("columns") {
					c.add(o.node("columns"), join(o.path, "columns"), "field %q is in no column", f.Name)
				}
			}
		}
	case "json":
		for _, k := range []string{"columns", "header"} {
			if o.has(k) {
				c.add(o.node(k), o.path, "columns and header are for CSV")
				break
			}
		}
	}
	if in.Kafka != nil && in.Header {
		c.add(o.node("header"), join(o.path, "header"), "Kafka messages have no header line: give columns (or use json)")
	}
	if len(in.Fields) > 0 && len(c.list) == before {
		fields := make([]stream.Field, len(in.Fields))
		for i, f := range in.Fields {
			fields[i] = stream.Field{Name: f.Name, Kind: f.Kind}
		}
		s, err := stream.NewSchema(j.Name, fields...)
		if err != nil {
			c.add(o.node("fields"), join(o.path, "fields"), "%v", err)
			return
		}
		j.Schema = s
	}
}
