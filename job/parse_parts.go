package job

import (
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rulestream/rulestream/stream"
)

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
		bound := func(name, what string) int {
			if !o.has(name) {
				return 0
			}
			n := o.integer(name)
			if _, err := strconv.ParseInt(o.str(name), 10, 64); err == nil && (n <= 0 || n > 1<<40) {
				c.add(o.node(name), join(o.path, name), "want a positive number of %s", what)
				return 0
			}
			return int(n)
		}
		w.MaxKeys = bound("max_keys", "keys")
		w.MaxPending = bound("max_pending", "events")
		w.MaxMatches = bound("max_matches", "matches")
		if o.has("early") {
			e := o.boolean("early")
			w.Early = &e
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
		Member: o.str("member"), Score: o.str("score"), NX: o.boolean("nx"), LT: o.boolean("lt"), IDField: o.str("id_field"), node: o}
}

// article gives a kind with its indefinite article: "an int", "a string".
func article(k stream.Kind) string {
	if n := k.String(); n != "" && strings.ContainsRune("aeiou", rune(n[0])) {
		return "an " + n
	}
	return "a " + k.String()
}
