package rules

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var setFields = []string{"version", "description", "rules"}
var ruleFields = []string{"name", "when", "target", "payload", "cooldown", "window", "enabled", "description"}

// LoadFile reads and compiles a YAML rule set. Errors name the file, the
// rule, and the line and column of the offending node.
func (e *Env) LoadFile(path string) (*RuleSet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	return e.Load(path, data)
}

// Load compiles a YAML rule set read from name:
//
//	version: "2026-11-01"   # optional; default: a hash of the content
//	rules:
//	  - name: upgrade_ad
//	    when: account.plan == "free" && event.ok
//	    target: ads
//	    cooldown: 24h
//
// Errors are *LoadError values (joined when there are several), sorted by
// position.
func (e *Env) Load(name string, data []byte) (*RuleSet, error) {
	return e.load(name, data, nil)
}

// load compiles a YAML rule set, reusing the compiled rules of prev whose
// declarations are unchanged (cel programs are stateless and shareable).
func (e *Env) load(name string, data []byte, prev *RuleSet) (*RuleSet, error) {
	l := &loader{file: name, src: data}
	rules, version := l.parse(data)
	if len(l.errs) > 0 {
		return nil, joinLoadErrors(l.errs)
	}
	return l.compile(e, version, rules, data, prev)
}

// LoadYAML compiles the rules of a sequence node taken from a larger YAML
// document, such as the rules: list of a job file; src is the whole
// document, name its file name. Errors are *LoadError values placed in the
// file (CEL errors at their line and column inside the expression). The
// version is the set's version ("": a hash of the rules). prev, when not
// nil, lends the compiled programs of its unchanged rules.
func (e *Env) LoadYAML(name string, src []byte, rules *yaml.Node, version string, prev *RuleSet) (*RuleSet, error) {
	l := &loader{file: name, src: src}
	if rules == nil || rules.Kind != yaml.SequenceNode {
		n := rules
		if n == nil {
			n = &yaml.Node{}
		}
		l.fail(n, "", "", "want a list of rules")
		return nil, joinLoadErrors(l.errs)
	}
	var list []Rule
	for _, rn := range rules.Content {
		list = append(list, l.rule(rn))
	}
	if len(l.errs) > 0 {
		return nil, joinLoadErrors(l.errs)
	}
	return l.compile(e, version, list, nil, prev)
}

// compile compiles parsed rules, placing errors at their nodes.
func (l *loader) compile(e *Env, version string, rules []Rule, content []byte, prev *RuleSet) (*RuleSet, error) {
	set, ferrs := e.compile(l.file, version, rules, content, prev)
	for _, fe := range ferrs {
		n := l.pos[fe.rule].field(fe.field)
		msg := fe.msg
		if strings.HasPrefix(msg, "duplicate rule name") {
			msg = "duplicate rule name (first declared at line " + strconv.Itoa(l.pos[fe.first].node.Line) + ")"
		}
		line, col := exprPos(n, l.src, fe.line, fe.col)
		l.errs = append(l.errs, &LoadError{File: l.file, Line: line, Col: col, Rule: rules[fe.rule].Name, Field: fe.field, Msg: msg,
			ExprLine: fe.line, ExprCol: fe.col})
	}
	if len(l.errs) > 0 {
		return nil, joinLoadErrors(l.errs)
	}
	return set, nil
}

type loader struct {
	file string
	src  []byte // the document, to place errors inside block scalars
	errs []error
	pos  []rulePos
}

// rulePos keeps the nodes of one rule for error positions.
type rulePos struct {
	node   *yaml.Node
	fields map[string]*yaml.Node
}

func (p rulePos) field(name string) *yaml.Node {
	if n, ok := p.fields[name]; ok {
		return n
	}
	return p.node
}

func (l *loader) fail(n *yaml.Node, rule, field, format string, args ...any) {
	l.errs = append(l.errs, &LoadError{File: l.file, Line: n.Line, Col: n.Column, Rule: rule, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (l *loader) parse(data []byte) ([]Rule, string) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.errs = append(l.errs, &LoadError{File: l.file, Msg: err.Error()})
		return nil, ""
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		l.errs = append(l.errs, &LoadError{File: l.file, Msg: "empty file: want a mapping with a rules: list"})
		return nil, ""
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		l.fail(top, "", "", "want a mapping with a rules: list")
		return nil, ""
	}
	var version string
	var rules []Rule
	seenRules := false
	l.mapping(top, "", setFields, func(key string, k, v *yaml.Node) {
		switch key {
		case "version":
			version, _ = l.scalar(v, "", key)
		case "description":
			l.scalar(v, "", key)
		case "rules":
			seenRules = true
			if v.Kind != yaml.SequenceNode {
				l.fail(v, "", key, "want a list of rules")
				return
			}
			for _, rn := range v.Content {
				rules = append(rules, l.rule(rn))
			}
		}
	})
	if !seenRules && len(l.errs) == 0 {
		l.fail(top, "", "", "missing rules: list")
	}
	return rules, version
}

// mapping walks the key/value pairs of a mapping node, reporting unknown
// and repeated keys.
func (l *loader) mapping(n *yaml.Node, rule string, allowed []string, fn func(key string, k, v *yaml.Node)) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		switch {
		case k.Kind != yaml.ScalarNode:
			l.fail(k, rule, "", "keys must be plain names")
		case !contains(allowed, key):
			l.fail(k, rule, "", "unknown field %q (want %s)", key, strings.Join(allowed, ", "))
		case seen[key]:
			l.fail(k, rule, "", "field %q given twice", key)
		default:
			seen[key] = true
			fn(key, k, v)
		}
	}
}

func (l *loader) scalar(v *yaml.Node, rule, field string) (string, bool) {
	if v.Kind != yaml.ScalarNode {
		l.fail(v, rule, field, "want a string")
		return "", false
	}
	return v.Value, true
}

func (l *loader) rule(n *yaml.Node) Rule {
	pos := rulePos{node: n, fields: map[string]*yaml.Node{}}
	var r Rule
	defer func() { l.pos = append(l.pos, pos) }()
	if n.Kind != yaml.MappingNode {
		l.fail(n, "", "", "want a rule: a mapping with name, when and target")
		return r
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" && n.Content[i+1].Kind == yaml.ScalarNode {
			r.Name = n.Content[i+1].Value
		}
	}
	l.mapping(n, r.Name, ruleFields, func(key string, k, v *yaml.Node) {
		pos.fields[key] = v
		if key == "enabled" {
			b, err := strconv.ParseBool(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil {
				l.fail(v, r.Name, key, "want true or false")
			}
			r.Disabled = !b
			return
		}
		s, ok := l.scalar(v, r.Name, key)
		if !ok {
			return
		}
		switch key {
		case "when":
			r.When = s
		case "target":
			r.Target = s
		case "payload":
			r.Payload = s
		case "window":
			r.Window = s
		case "description":
			r.Description = s
		case "cooldown":
			d, err := parseDuration(s)
			if err != nil {
				l.fail(v, r.Name, key, "%q is not a duration (e.g. 30m, 24h, 7d)", s)
			}
			r.Cooldown = d
		}
	})
	return r
}

// ParseDuration is time.ParseDuration plus whole days ("7d"); a negative
// duration is refused. Rule files and job files write durations so.
func ParseDuration(s string) (time.Duration, error) { return parseDuration(s) }

func parseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(d, 10, 16)
		if err != nil {
			return 0, err
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		return 0, fmt.Errorf("negative")
	}
	return d, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
