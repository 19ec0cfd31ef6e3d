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

// defaultIdleAdvance is the idle_advance of a job that gives none.
const defaultIdleAdvance = 30 * time.Second

// defaultLateness is the lateness of a job that gives none.
const defaultLateness = 5 * time.Minute

// defaultMaxAhead is the outlier guard of a job that gives none.
const defaultMaxAhead = time.Hour

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
	j.MaxAhead = top.duration("max_ahead", defaultMaxAhead)
	j.IdleAdvance = top.duration("idle_advance", defaultIdleAdvance)
	if j.IdleAdvance < 0 {
		c.add(top.node("idle_advance"), "idle_advance", "must not be negative (0s turns it off)")
	}
	j.Order = Order(top.str("order"))
	if j.Order == "" {
		j.Order = OrderAuto
	}
	if j.MaxAhead < 0 {
		c.add(top.node("max_ahead"), "max_ahead", "must not be negative (0s turns the guard off)")
	}
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
