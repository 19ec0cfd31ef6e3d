package job

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
)

// maxJobSize bounds a job file.
const maxJobSize = 4 << 20

// defaultLateness is the lateness of a job that gives none.
const defaultLateness = 5 * time.Minute

// Load reads and validates the job file at path. Every problem found is
// reported at once, as Errors naming file:line:column.
func Load(path string, opts Options) (*Job, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("job: %w", err)
	}
	return Parse(path, data, opts)
}

// Parse validates a job file's content; name is its path (relative paths in
// the job are resolved against its directory).
func Parse(name string, src []byte, opts Options) (*Job, error) {
	c := &errs{file: name, src: src}
	if len(src) > maxJobSize {
		c.add(nil, "", "job file larger than %d bytes", maxJobSize)
		return nil, c.err()
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		c.list = append(c.list, yamlError(name, err))
		return nil, c.err()
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		c.add(nil, "", "empty file: want a mapping with input, rules and targets")
		return nil, c.err()
	}
	if dec := yaml.NewDecoder(bytes.NewReader(src)); dec.Decode(new(yaml.Node)) == nil {
		var second yaml.Node
		if err := dec.Decode(&second); err == nil {
			c.add(&second, "", "a second YAML document: a job file holds one")
			return nil, c.err()
		}
	}
	j := &Job{File: name, opts: opts, dir: filepath.Dir(name), src: src, filters: map[string]*rules.Filter{}}
	top := c.check(doc.Content[0], "", jobSpec)
	if top == nil {
		return nil, c.err()
	}
	j.Name = top.str("name")
	if j.Name == "" {
		j.Name = strings.TrimSuffix(filepath.Base(name), filepath.Ext(name))
	}
	j.Description = top.str("description")
	j.version = top.str("version")
	j.Lateness = top.duration("lateness", defaultLateness)
	before := len(c.list) // the input's schema is built if the input is sound
	j.parseInput(c, top.obj("input"), before)
	j.parseLookups(c, top.objs("lookups"))
	j.parseWindows(c, top.objs("windows"))
	j.parseTargets(c, top.objs("targets"))
	j.rulesNode = top.vals["rules"]
	if j.Schema == nil {
		// The rules' environment needs the input's schema.
		return nil, c.err()
	}
	// The rules are compiled even when other parts have errors, in an
	// environment of the parts that are sound, so that one load reports
	// every problem.
	j.compile(c)
	if err := c.err(); err != nil {
		return nil, err
	}
	return j, nil
}

// yamlError turns a yaml.v3 error ("yaml: line 3: ...") into an Error with
// its line.
func yamlError(file string, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	e := &Error{File: file, Msg: msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Col = 1
		e.Msg = strings.TrimSpace(msg[len(m[0]):])
	}
	return e
}

var yamlLine = regexp.MustCompile(`^line (\d+):`)

// isIdent reports whether s can name a CEL variable or field.
func isIdent(s string) bool { return rules.IsIdent(s) }

var kinds = map[string]stream.Kind{"string": stream.KindString, "int": stream.KindInt, "float": stream.KindFloat,
	"bool": stream.KindBool, "time": stream.KindTime}

// reservedVars are CEL variables that lookups cannot be named.
var reservedVars = []string{"event", "window", "now"}

// parseFields reads a tTypes mapping: names to a type or {type, format}.
func (j *Job) parseFields(c *errs, o *obj, key string) []Field {
	var out []Field
	path := join(o.path, key)
	seen := map[string]bool{}
	for _, kv := range o.pairs(key) {
		k, v := kv[0], kv[1]
		p := join(path, k.Value)
		f := Field{Name: k.Value}
		switch {
		case k.Kind != yaml.ScalarNode || !isIdent(k.Value):
			c.add(k, path, "field name %q: use letters, digits and '_', not starting with a digit, and not a CEL word (in, as, true...)", k.Value)
			continue
		case seen[k.Value]:
			c.add(k, path, "field %q declared twice", k.Value)
			continue
		}
		seen[k.Value] = true
		typ, format, fnode, formatNode := "", "", v, v
		switch v.Kind {
		case yaml.ScalarNode:
			typ = v.Value
		case yaml.MappingNode:
			for i := 0; i+1 < len(v.Content); i += 2 {
				switch kk, vv := v.Content[i].Value, resolve(v.Content[i+1]); kk {
				case "type":
					typ, fnode = vv.Value, vv
				case "format":
					format, formatNode = vv.Value, vv
					if vv.Kind != yaml.ScalarNode {
						c.add(vv, join(p, "format"), "want a time format: %s", timeFormatDoc)
					}
				default:
					c.add(v.Content[i], p, "unknown field %q (want type, format)", kk)
				}
			}
		default:
			c.add(v, p, "want a type (%s) or {type: time, format: ...}", strings.Join(fieldTypes, ", "))
			continue
		}
		kind, ok := kinds[typ]
		if !ok {
			c.add(fnode, p, "unknown type %q (want %s)", typ, strings.Join(fieldTypes, ", "))
			continue
		}
		f.Kind = kind
		if format != "" {
			if kind != stream.KindTime {
				c.add(v, p, "format applies to time fields only")
			}
			tf, err := stream.ParseTimeFormat(format)
			if err != nil {
				c.add(formatNode, join(p, "format"), "%v", err)
			}
			f.Format = tf
		}
		out = append(out, f)
	}
	return out
}

func fieldIndex(fields []Field, name string) int {
	return slices.IndexFunc(fields, func(f Field) bool { return f.Name == name })
}

func fieldNames(fields []Field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

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

func (j *Job) parseLookups(c *errs, list []*obj) {
	seen := map[string]bool{}
	for _, o := range list {
		if o == nil {
			continue
		}
		l := Lookup{Name: o.str("name"), Key: o.str("key"), Unknown: o.str("unknown")}
		switch {
		case !isIdent(l.Name):
			c.add(o.node("name"), join(o.path, "name"), "%q: a lookup's name is a CEL variable: use letters, digits and '_', not starting with a digit", l.Name)
		case slices.Contains(reservedVars, l.Name):
			c.add(o.node("name"), join(o.path, "name"), "%q is a variable of every rule; name the lookup otherwise", l.Name)
		case seen[l.Name]:
			c.add(o.node("name"), join(o.path, "name"), "lookup %q declared twice", l.Name)
		}
		seen[l.Name] = true
		if l.Unknown == "" {
			l.Unknown = "pass"
		}
		if t, err := stream.ParseTemplate(l.Key); err != nil {
			c.add(o.node("key"), join(o.path, "key"), "%v", err)
		} else {
			if len(t.Fields()) == 0 {
				c.add(o.node("key"), join(o.path, "key"), "the key %q names no event field: every event would read one hash", l.Key)
			}
			for _, f := range t.Fields() {
				if fieldIndex(j.Input.Fields, f) < 0 {
					c.add(o.node("key"), join(o.path, "key"), "{%s}: no such input field (fields: %s)", f, fieldNames(j.Input.Fields))
				}
			}
		}
		l.Fields = j.parseFields(c, o, "fields")
		if o.has("fields") && len(o.pairs("fields")) == 0 {
			c.add(o.node("fields"), join(o.path, "fields"), "want at least one field")
		}
		if cache := o.obj("cache"); cache != nil {
			l.CacheEntries = int(cache.integer("entries"))
			l.CacheTTL = cache.duration("ttl", 0)
			if cache.has("entries") && l.CacheEntries <= 0 {
				c.add(cache.node("entries"), join(cache.path, "entries"), "want a positive number of entries")
			}
		}
		if ld := o.obj("load"); ld != nil {
			l.Load = &Reference{File: ld.str("file"), Key: ld.str("key")}
			if !filepath.IsAbs(l.Load.File) {
				l.Load.File = filepath.Join(j.dir, l.Load.File)
			}
			if t, err := stream.ParseTemplate(l.Load.Key); err != nil {
				c.add(ld.node("key"), join(ld.path, "key"), "%v", err)
			} else {
				for _, f := range t.Fields() {
					if fieldIndex(l.Fields, f) < 0 {
						c.add(ld.node("key"), join(ld.path, "key"), "{%s}: not a field of the lookup (fields: %s)", f, fieldNames(l.Fields))
					}
				}
			}
		}
		if len(l.Fields) > 0 {
			fields := make([]stream.Field, len(l.Fields))
			for i, f := range l.Fields {
				fields[i] = stream.Field{Name: f.Name, Kind: f.Kind}
			}
			if s, err := stream.NewSchema(l.Name, fields...); err == nil {
				l.Schema = s
			}
		}
		j.Lookups = append(j.Lookups, l)
	}
}

var aggCall = regexp.MustCompile(`^\s*([a-z_]+)\s*(?:\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\))?\s*$`)

func (j *Job) parseWindows(c *errs, list []*obj) {
	seen := map[string]bool{}
	for _, o := range list {
		if o == nil {
			continue
		}
		w := Window{Name: o.str("name"), Type: o.str("type"), Key: o.strs("key"), Where: o.str("where"), node: o}
		switch {
		case !isIdent(w.Name):
			c.add(o.node("name"), join(o.path, "name"), "%q: use letters, digits and '_', not starting with a digit", w.Name)
		case seen[w.Name]:
			c.add(o.node("name"), join(o.path, "name"), "window %q declared twice", w.Name)
		}
		seen[w.Name] = true
		for i, k := range w.Key {
			if fieldIndex(j.Input.Fields, k) < 0 {
				c.add(o.strNodes("key")[i], join(o.path, "key"), "no input field %q (fields: %s)", k, fieldNames(j.Input.Fields))
			}
		}
		noRepeats(c, o, "key")
		if o.has("key") && len(w.Key) == 0 {
			c.add(o.node("key"), join(o.path, "key"), "want at least one field")
		}
		positive := func(key string, d time.Duration) {
			if o.has(key) && d <= 0 {
				c.add(o.node(key), join(o.path, key), "must be positive")
			}
		}
		switch w.Type {
		case "count_within":
			w.Count = int(o.integer("count"))
			w.Within = o.duration("within", 0)
			if _, err := strconv.ParseInt(o.str("count"), 10, 64); err == nil && (w.Count < 1 || w.Count > 1<<15) {
				c.add(o.node("count"), join(o.path, "count"), "must be between 1 and 32768")
			}
		case "tumbling", "sliding":
			w.Size, w.Slide, w.Offset = o.duration("size", 0), o.duration("slide", 0), o.duration("offset", 0)
			positive("size", w.Size)
			positive("slide", w.Slide)
			if w.Type == "sliding" && w.Slide > w.Size {
				c.add(o.node("slide"), join(o.path, "slide"), "slide %v is longer than size %v", w.Slide, w.Size)
			}
		case "session":
			w.Gap = o.duration("gap", 0)
			positive("gap", w.Gap)
		case "sequence":
			w.Steps, w.Within = o.strs("steps"), o.duration("within", 0)
			positive("within", w.Within)
			if o.has("steps") && len(w.Steps) < 2 {
				c.add(o.node("steps"), join(o.path, "steps"), "want at least two steps (one is a where:)")
			}
		case "absence":
			w.Start, w.End, w.Within = o.str("start"), o.str("end"), o.duration("within", 0)
			positive("within", w.Within)
		case "new_value", "distinct_count":
			w.Field, w.Within = o.str("field"), o.duration("within", 0)
			positive("within", w.Within)
			if w.Field != "" && fieldIndex(j.Input.Fields, w.Field) < 0 {
				c.add(o.node("field"), join(o.path, "field"), "no input field %q (fields: %s)", w.Field, fieldNames(j.Input.Fields))
			}
			if w.Type == "distinct_count" {
				w.Count = int(o.integer("count"))
				if _, err := strconv.ParseInt(o.str("count"), 10, 64); err == nil && (w.Count < 1 || w.Count > 1<<15) {
					c.add(o.node("count"), join(o.path, "count"), "must be between 1 and 32768")
				}
			}
		}
		if o.has("max_keys") {
			w.MaxKeys = int(o.integer("max_keys"))
			if w.MaxKeys <= 0 {
				c.add(o.node("max_keys"), join(o.path, "max_keys"), "want a positive number of keys")
			}
		}
		w.Aggregates = j.parseAggs(c, o)
		j.Windows = append(j.Windows, w)
	}
}

// parseAggs reads a time window's aggregates and types their results.
func (j *Job) parseAggs(c *errs, o *obj) []Aggregate {
	var out []Aggregate
	path := join(o.path, "aggregates")
	for _, kv := range o.pairs("aggregates") {
		k, v := kv[0], kv[1]
		p := join(path, k.Value)
		if !isIdent(k.Value) {
			c.add(k, path, "aggregate name %q: use letters, digits and '_'", k.Value)
			continue
		}
		if slices.ContainsFunc(out, func(a Aggregate) bool { return a.Name == k.Value }) {
			c.add(k, path, "aggregate %q declared twice", k.Value)
			continue
		}
		m := aggCall.FindStringSubmatch(v.Value)
		if v.Kind != yaml.ScalarNode || m == nil || !slices.Contains(aggFuncs, m[1]) {
			c.add(v, p, "want count or one of sum, min, max, first, last, distinct applied to a field, e.g. sum(length)")
			continue
		}
		a := Aggregate{Name: k.Value, Func: m[1], Field: m[2]}
		switch {
		case a.Func == "count" && a.Field != "":
			c.add(v, p, "count takes no field")
			continue
		case a.Func != "count" && a.Field == "":
			c.add(v, p, "%s needs a field: %s(field)", a.Func, a.Func)
			continue
		}
		if a.Func == "count" {
			a.Kind = stream.KindInt
			out = append(out, a)
			continue
		}
		i := fieldIndex(j.Input.Fields, a.Field)
		if i < 0 {
			c.add(v, p, "no input field %q (fields: %s)", a.Field, fieldNames(j.Input.Fields))
			continue
		}
		fk := j.Input.Fields[i].Kind
		switch a.Func {
		case "distinct":
			a.Kind = stream.KindInt
		case "sum":
			if fk != stream.KindInt && fk != stream.KindFloat {
				c.add(v, p, "sum of %q, a %v: want an int or float field", a.Field, fk)
				continue
			}
			a.Kind = fk
		default:
			a.Kind = fk
		}
		out = append(out, a)
	}
	return out
}

var writeOps = map[string]bool{"stream": true, "list": true, "sorted_set": true, "set": true, "hash": true}

func (j *Job) parseTargets(c *errs, list []*obj) {
	seen := map[string]bool{}
	for _, o := range list {
		if o == nil {
			continue
		}
		t := Target{Name: o.str("name")}
		switch {
		case t.Name == "":
		case seen[t.Name]:
			c.add(o.node("name"), join(o.path, "name"), "target %q declared twice", t.Name)
		}
		seen[t.Name] = true
		switch {
		case o.has("writes") && o.has("type"):
			c.add(o.keys["writes"], o.path, "give one write (type and its keys) or writes, not both")
		case o.has("writes"):
			for _, w := range o.objs("writes") {
				if w != nil {
					t.Writes = append(t.Writes, readWrite(w))
				}
			}
			if len(t.Writes) == 0 {
				c.add(o.node("writes"), join(o.path, "writes"), "want at least one write")
			}
		case o.has("type"):
			t.Writes = []Write{readWrite(o)}
		default:
			c.add(o.n, o.path, "missing type (%s) or writes", strings.Join(writeTypes, ", "))
		}
		j.Targets = append(j.Targets, t)
	}
}

func readWrite(o *obj) Write {
	noRepeats(o.c, o, "fields")
	return Write{Type: o.str("type"), Key: o.str("key"), Fields: o.strs("fields"), MaxLen: o.integer("maxlen"),
		Member: o.str("member"), Score: o.str("score"), NX: o.boolean("nx"), IDField: o.str("id_field"), node: o}
}

// article gives a kind with its indefinite article: "an int", "a string".
func article(k stream.Kind) string {
	if n := k.String(); n != "" && strings.ContainsRune("aeiou", rune(n[0])) {
		return "an " + n
	}
	return "a " + k.String()
}

// noRepeats reports a name given twice in the list at key.
func noRepeats(c *errs, o *obj, key string) {
	seen := map[string]bool{}
	for _, n := range o.strNodes(key) {
		if seen[n.Value] {
			c.add(n, join(o.path, key), "%q named twice", n.Value)
		}
		seen[n.Value] = true
	}
}
