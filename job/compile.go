package job

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
)

// timeWindows are the window types whose results are not an input event:
// their event is the window's key fields.
var timeWindows = map[string]bool{"tumbling": true, "sliding": true, "session": true}

// keySchema is the schema of a time window's results: its key fields.
func (j *Job) keySchema(w Window) (*stream.Schema, error) {
	fields := make([]stream.Field, 0, len(w.Key))
	for _, k := range w.Key {
		i := fieldIndex(j.Input.Fields, k)
		if i < 0 {
			return nil, fmt.Errorf("no input field %q", k)
		}
		fields = append(fields, stream.Field{Name: k, Kind: j.Input.Fields[i].Kind})
	}
	return stream.NewSchema(w.Name, fields...)
}

// compile builds the rules' environment, the windows' where: conditions and
// the rules, and checks the targets against the emissions they receive.
func (j *Job) compile(c *errs) {
	sound := len(c.list) == 0 // no error so far: the environment must build
	var joins []rules.Join
	seen := map[string]bool{}
	for _, l := range j.Lookups {
		if l.Schema == nil || !isIdent(l.Name) || slices.Contains(reservedVars, l.Name) || seen[l.Name] {
			continue // reported already
		}
		seen[l.Name] = true
		joins = append(joins, rules.Join{Name: l.Name, Schema: l.Schema})
	}
	var decls []rules.WindowDecl
	seen = map[string]bool{}
	for _, w := range j.Windows {
		if !isIdent(w.Name) || seen[w.Name] {
			continue
		}
		seen[w.Name] = true
		d := rules.WindowDecl{Name: w.Name, Kind: w.Type}
		if timeWindows[w.Type] {
			ks, err := j.keySchema(w)
			if err != nil {
				continue // a key field the input lacks: reported already
			}
			d.Event = ks
		}
		for _, a := range w.Aggregates {
			d.Aggregates = append(d.Aggregates, stream.Field{Name: a.Name, Kind: a.Kind})
		}
		if w.Type == "sequence" {
			d.Steps = len(w.Steps)
		}
		decls = append(decls, d)
	}
	var names []string
	for _, t := range j.Targets {
		if t.Name != DeadLetterTarget && t.Name != LateTarget {
			names = append(names, t.Name)
		}
	}
	if names == nil {
		names = []string{}
	}
	env, err := rules.NewEnv(rules.EnvConfig{EventSchema: j.Schema, Joins: joins, Windows: decls, Targets: names, Options: j.opts.CEL})
	if err != nil {
		if sound {
			c.add(nil, "", "%v", err)
		}
		return
	}
	j.Env = env
	for i, w := range j.Windows {
		for _, cond := range w.conditions() {
			if _, err := env.NewFilter(w.Name, cond.expr, rules.FilterConfig{}); err != nil {
				c.addCEL(cond.node, fmt.Sprintf("windows[%d].%s", i, cond.path), err)
			}
		}
		if w.Where == "" {
			continue
		}
		f, err := env.NewFilter(w.Name, w.Where, rules.FilterConfig{})
		if err != nil {
			c.addCEL(w.node.node("where"), fmt.Sprintf("windows[%d].where", i), err)
			continue
		}
		j.filters[w.Name] = f
	}
	if j.rulesNode == nil || j.rulesNode.Kind != yaml.SequenceNode {
		return // missing or not a list: reported already
	}
	set, err := env.LoadYAML(j.File, j.src, j.rulesNode, j.version, nil)
	if err != nil {
		c.rulesErr(err)
		return
	}
	j.Rules = set
	j.checkTargets(c)
	j.checkCooldowns(c)
}

// emissions returns, per target name, the schemas of what it receives and
// who sends each (a rule name, or the input).
func (j *Job) emissions() map[string][]sender {
	out := map[string][]sender{}
	for _, r := range j.Rules.Rules() {
		if r.Disabled {
			continue
		}
		if s := j.Rules.EmissionSchema(r.Name); s != nil {
			out[r.Target] = append(out[r.Target], sender{"rule " + r.Name, s})
		}
	}
	out[DeadLetterTarget] = append(out[DeadLetterTarget], sender{"malformed input", stream.DeadLetterSchema})
	out[LateTarget] = append(out[LateTarget], sender{"late events", j.lateSchema()})
	return out
}

type sender struct {
	who    string
	schema *stream.Schema
}

// lateSchema is the schema of late events in the late target: the input's
// fields and late_by_ms.
func (j *Job) lateSchema() *stream.Schema {
	fields := append(j.Schema.Fields(), stream.Field{Name: LateByField, Kind: stream.KindInt})
	s, err := stream.NewSchema(j.Name+":late", fields...)
	if err != nil { // an input field named late_by_ms: the late target carries the input's
		return j.Schema
	}
	return s
}

// checkTargets checks every write of every target against the schemas of
// the emissions it receives: templates, fields, members and scores must
// name fields they have.
func (j *Job) checkTargets(c *errs) {
	em := j.emissions()
	for _, t := range j.Targets {
		for _, w := range t.Writes {
			if !checkWriteSelf(c, w) {
				continue
			}
			for _, s := range em[t.Name] {
				j.checkWrite(c, w, s)
			}
		}
	}
}

// checkWriteSelf checks what a write says on its own, whatever it receives:
// its key template, its maxlen, nx with lt. It reports whether the key
// parsed.
func checkWriteSelf(c *errs, w Write) bool {
	o := w.node
	if w.MaxLen < 0 {
		c.add(o.node("maxlen"), join(o.path, "maxlen"), "must not be negative")
	}
	if w.NX && w.LT {
		c.add(o.node("lt"), join(o.path, "lt"), "give nx or lt, not both (nx keeps the first score, lt the lowest)")
	}
	t, err := stream.ParseTemplate(w.Key)
	if err != nil {
		c.add(o.node("key"), join(o.path, "key"), "%v", err)
		return false
	}
	for _, f := range t.Fields() {
		if strings.HasPrefix(f, "$") && !slices.Contains([]string{"$target", "$key", "$id"}, f) {
			c.add(o.node("key"), join(o.path, "key"), "{%s}: the special names are {$target}, {$key} and {$id}", f)
		}
	}
	return true
}

// checkWrite checks the names a write uses against the fields of what one
// sender routes to it.
func (j *Job) checkWrite(c *errs, w Write, s sender) {
	o := w.node
	has := func(name string) bool { return s.schema.Index(name) >= 0 }
	missing := func(key, name string) {
		c.add(o.node(key), join(o.path, key), "%s has no field %q (it has %s)", s.who, name, schemaFields(s.schema))
	}
	if t, err := stream.ParseTemplate(w.Key); err == nil {
		for _, f := range t.Fields() {
			if !strings.HasPrefix(f, "$") && !has(f) {
				missing("key", f)
			}
		}
	}
	for _, f := range w.Fields {
		if !has(f) {
			missing("fields", f)
		}
	}
	if w.Member != "" && !has(w.Member) {
		missing("member", w.Member)
	}
	if w.Score != "" {
		if i := s.schema.Index(w.Score); i < 0 {
			missing("score", w.Score)
		} else if k := s.schema.Field(i).Kind; k != stream.KindInt && k != stream.KindFloat && k != stream.KindTime {
			c.add(o.node("score"), join(o.path, "score"), "%s's field %q is a %v; a score is an int, a float or a time", s.who, w.Score, k)
		}
	}
}

func schemaFields(s *stream.Schema) string {
	names := make([]string, s.Len())
	for i := range names {
		names[i] = s.Field(i).Name
	}
	return strings.Join(names, ", ")
}

// condition is a pattern's CEL condition, with where it is in the file.
type condition struct {
	expr, path string
	node       *yaml.Node
}

// conditions returns a pattern window's conditions: a sequence's steps, an
// absence's start and end.
func (w Window) conditions() []condition {
	var out []condition
	switch w.Type {
	case "sequence":
		var nodes []*yaml.Node
		if w.node != nil {
			nodes = w.node.strNodes("steps")
		}
		for i, s := range w.Steps {
			cd := condition{expr: s, path: fmt.Sprintf("steps[%d]", i)}
			if i < len(nodes) {
				cd.node = nodes[i]
			}
			out = append(out, cd)
		}
	case "absence":
		out = append(out, condition{expr: w.Start, path: "start"}, condition{expr: w.End, path: "end"})
		if w.node != nil {
			out[0].node, out[1].node = w.node.node("start"), w.node.node("end")
		}
	}
	return out
}

// checkCooldowns refuses a cooldown on per-event rules when the input has no
// key: it would hold back every event of the stream, not one key's.
func (j *Job) checkCooldowns(c *errs) {
	if len(j.Input.Key) > 0 || j.rulesNode == nil {
		return
	}
	for i, r := range j.Rules.Rules() {
		if r.Cooldown <= 0 || r.Window != "" || i >= len(j.rulesNode.Content) {
			continue
		}
		n := j.rulesNode.Content[i]
		for k := 0; k+1 < len(n.Content); k += 2 {
			if n.Content[k].Value == "cooldown" {
				n = n.Content[k+1]
				break
			}
		}
		c.add(n, "rules["+r.Name+"].cooldown", "a cooldown holds back a key's emissions, and the input has no key: give input.key")
	}
}
