package job

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rulestream/rulestream/rules"
)

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// obj is a mapping node checked against a spec: its value nodes by key.
type obj struct {
	c       *errs
	n       *yaml.Node
	path    string
	spec    *spec
	variant *spec
	vals    map[string]*yaml.Node
	keys    map[string]*yaml.Node
}

// check checks n against s: a mapping whose keys are s's (or its
// variant's), each of the right shape, the required ones present. Nested
// objects are checked when read (obj.obj, obj.objs). It returns nil when n
// is not a mapping.
func (c *errs) check(n *yaml.Node, path string, s *spec) *obj {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		c.add(n, path, "want a mapping (%s)", s.doc)
		return nil
	}
	o := &obj{c: c, n: n, path: path, spec: s, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	if len(s.variants) > 0 {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "type" {
				v := resolve(n.Content[i+1])
				if v.Kind == yaml.ScalarNode {
					o.variant = s.variant(v.Value)
					if o.variant == nil {
						c.add(v, join(path, "type"), "unknown type %q (want %s)", v.Value, strings.Join(s.variantNames(), ", "))
					}
				}
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Kind != yaml.ScalarNode {
			c.add(k, path, "keys must be plain names")
			continue
		}
		f, ok := s.lookup(k.Value, o.variant)
		switch {
		case !ok:
			c.add(k, path, "unknown field %q (want %s)", k.Value, strings.Join(o.known(), ", "))
			continue
		case o.vals[k.Value] != nil:
			c.add(k, path, "field %q given twice", k.Value)
			continue
		}
		o.vals[k.Value], o.keys[k.Value] = v, k
		c.shape(v, join(path, k.Value), f)
	}
	required := append([]field(nil), s.fields...)
	if o.variant != nil {
		required = append(required, o.variant.fields...)
	}
	for _, f := range required {
		if f.required && o.vals[f.name] == nil {
			c.add(n, path, "missing %s", f.name)
		}
	}
	return o
}

// known lists the keys o may have.
func (o *obj) known() []string {
	var out []string
	for _, f := range o.spec.fields {
		out = append(out, f.name)
	}
	if o.variant != nil {
		for _, f := range o.variant.fields {
			out = append(out, f.name)
		}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows an alias.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// shape checks a value against its field's type.
func (c *errs) shape(v *yaml.Node, path string, f field) {
	scalar := func() bool {
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			c.add(v, path, "want %s", describeType(f))
			return false
		}
		return true
	}
	switch f.typ {
	case tString:
		if scalar() && len(f.enum) > 0 && !contains(f.enum, v.Value) {
			c.add(v, path, "%q is not one of %s", v.Value, strings.Join(f.enum, ", "))
		}
	case tBool:
		if scalar() && v.Tag != "!!bool" {
			c.add(v, path, "want true or false, not %q", v.Value)
		}
	case tInt:
		if scalar() {
			if _, err := strconv.ParseInt(v.Value, 10, 64); err != nil {
				c.add(v, path, "want an integer, not %q", v.Value)
			}
		}
	case tDuration:
		if scalar() {
			if _, err := parseDuration(v.Value); err != nil {
				c.add(v, path, "%q is not a duration (e.g. 30s, 5m, 24h, 7d)", v.Value)
			}
		}
	case tStrings:
		switch v.Kind {
		case yaml.ScalarNode:
			scalar()
		case yaml.SequenceNode:
			for _, e := range v.Content {
				if e = resolve(e); e.Kind != yaml.ScalarNode || e.Tag == "!!null" {
					c.add(e, path, "want a name")
				}
			}
		default:
			c.add(v, path, "want a list of names")
		}
	case tObject:
		if v.Kind != yaml.MappingNode {
			c.add(v, path, "want a mapping (%s)", f.obj.doc)
		}
	case tObjects:
		if v.Kind != yaml.SequenceNode {
			c.add(v, path, "want a list (of %s)", f.obj.name+"s")
		}
	case tTypes, tAggs:
		if v.Kind != yaml.MappingNode {
			c.add(v, path, "want a mapping of names to %s", map[bool]string{true: "types", false: "aggregates"}[f.typ == tTypes])
		}
	}
}

func describeType(f field) string {
	switch f.typ {
	case tBool:
		return "true or false"
	case tInt:
		return "an integer"
	case tDuration:
		return "a duration (e.g. 30s, 5m, 24h, 7d)"
	case tStrings:
		return "a name or a list of names"
	}
	if len(f.enum) > 0 {
		return "one of " + strings.Join(f.enum, ", ")
	}
	return "a string"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// parseDuration reads a duration as rule files do: time.ParseDuration's
// form or whole days ("7d"), never negative.
func parseDuration(s string) (time.Duration, error) { return rules.ParseDuration(s) }

// The getters below read values already checked by check: a value of the
// wrong shape reads as the zero value (its error is recorded).

func (o *obj) has(key string) bool { return o != nil && o.vals[key] != nil }

func (o *obj) node(key string) *yaml.Node {
	if o == nil {
		return nil
	}
	if n := o.vals[key]; n != nil {
		return n
	}
	return o.n
}

func (o *obj) str(key string) string {
	if !o.has(key) || o.vals[key].Kind != yaml.ScalarNode {
		return ""
	}
	return o.vals[key].Value
}

func (o *obj) boolean(key string) bool {
	b, _ := strconv.ParseBool(o.str(key))
	return b
}

func (o *obj) integer(key string) int64 {
	n, _ := strconv.ParseInt(o.str(key), 10, 64)
	return n
}

func (o *obj) duration(key string, def time.Duration) time.Duration {
	if !o.has(key) {
		return def
	}
	d, _ := parseDuration(o.str(key))
	return d
}

func (o *obj) strs(key string) []string {
	if !o.has(key) {
		return nil
	}
	v := o.vals[key]
	if v.Kind == yaml.ScalarNode {
		return []string{v.Value}
	}
	var out []string
	for _, e := range v.Content {
		out = append(out, resolve(e).Value)
	}
	return out
}

// strNodes returns the nodes of a tStrings value, one per name.
func (o *obj) strNodes(key string) []*yaml.Node {
	if !o.has(key) {
		return nil
	}
	v := o.vals[key]
	if v.Kind == yaml.ScalarNode {
		return []*yaml.Node{v}
	}
	out := make([]*yaml.Node, len(v.Content))
	for i, e := range v.Content {
		out[i] = resolve(e)
	}
	return out
}

// obj checks and returns the nested object at key, or nil.
func (o *obj) obj(key string) *obj {
	if !o.has(key) || o.vals[key].Kind != yaml.MappingNode {
		return nil
	}
	f, _ := o.spec.lookup(key, o.variant)
	return o.c.check(o.vals[key], join(o.path, key), f.obj)
}

// objs checks and returns the objects of the list at key (nil entries for
// items that are not mappings).
func (o *obj) objs(key string) []*obj {
	if !o.has(key) || o.vals[key].Kind != yaml.SequenceNode {
		return nil
	}
	f, _ := o.spec.lookup(key, o.variant)
	var out []*obj
	for i, n := range o.vals[key].Content {
		out = append(out, o.c.check(n, fmt.Sprintf("%s[%d]", join(o.path, key), i), f.obj))
	}
	return out
}

// pairs returns the key and value nodes of the mapping at key, in order.
func (o *obj) pairs(key string) [][2]*yaml.Node {
	if !o.has(key) || o.vals[key].Kind != yaml.MappingNode {
		return nil
	}
	n := o.vals[key]
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], resolve(n.Content[i+1])})
	}
	return out
}
