package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/rulestream/rulestream/stream"
)

// Rule declares one rule. In YAML the fields are name, when, target,
// payload, cooldown, window, enabled and description.
type Rule struct {
	// Name identifies the rule; unique in a set. It prefixes emission ids.
	Name string
	// When is the CEL condition; it must return bool.
	When string
	// Target names the sink the emission is for ("ads", "sms", ...).
	Target string
	// Payload is an optional CEL map literal with string keys whose entries
	// add to or override the default payload fields.
	Payload string
	// Cooldown allows at most one emission per key per period, in event
	// time. Zero means no cooldown.
	Cooldown time.Duration
	// Window makes the rule read the window results of that name (and only
	// them). Without it the rule reads plain events only.
	Window string
	// Disabled keeps the rule in the set without evaluating it (YAML:
	// enabled: false).
	Disabled bool
	// Description is free text.
	Description string
}

// RuleSet is a compiled, immutable set of rules. It is safe for concurrent
// use; an Engine evaluates the live one.
type RuleSet struct {
	env     *Env
	version string
	source  string
	decls   []Rule
	rules   []*compiled // enabled rules, in declaration order
	joins   []int       // the joins any enabled rule reads
}

// Version returns the set's version: its `version:` field, or a hash of its
// content.
func (s *RuleSet) Version() string { return s.version }

// Source returns the file (or other origin) the set was loaded from.
func (s *RuleSet) Source() string { return s.source }

// Rules returns the declarations, disabled ones included.
func (s *RuleSet) Rules() []Rule { return append([]Rule(nil), s.decls...) }

// Env returns the environment the set was compiled in.
func (s *RuleSet) Env() *Env { return s.env }

// fieldErr is a compile error of one field of one rule; the YAML loader
// places it at the field's position.
type fieldErr struct {
	rule  int    // index of the rule in the declarations
	field string // "when", "payload", "target", ...
	msg   string
	first int // for a duplicate name: index of the first declaration
	// line and col place a CEL error in the expression (1-based), 0 when
	// the error is about the field as a whole.
	line, col int
}

// NewRuleSet compiles rules declared in Go. version may be empty (then it
// is a hash of the rules). Errors are *LoadError values joined.
func (e *Env) NewRuleSet(version string, rules ...Rule) (*RuleSet, error) {
	set, ferrs := e.compile("", version, rules, nil, nil)
	if len(ferrs) > 0 {
		errs := make([]error, 0, len(ferrs))
		for _, fe := range ferrs {
			errs = append(errs, &LoadError{Rule: rules[fe.rule].Name, Field: fe.field, Msg: fe.msg, ExprLine: fe.line, ExprCol: fe.col})
		}
		return nil, joinLoadErrors(errs)
	}
	return set, nil
}

// hashRules returns a short content hash of the declarations.
func hashRules(rules []Rule) string {
	h := sha256.New()
	for _, r := range rules {
		fmt.Fprintf(h, "%q|%q|%q|%q|%d|%q|%t\n", r.Name, r.When, r.Target, r.Payload, r.Cooldown, r.Window, r.Disabled)
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// compile checks and compiles the declarations. content, when given, is
// hashed for the version.
func (e *Env) compile(source, version string, rules []Rule, content []byte, prev *RuleSet) (*RuleSet, []fieldErr) {
	reuse := map[Rule]*compiled{}
	if prev != nil && prev.env == e {
		for _, c := range prev.rules {
			reuse[c.Rule] = c
		}
	}
	if version == "" {
		if content != nil {
			sum := sha256.Sum256(content)
			version = hex.EncodeToString(sum[:6])
		} else {
			version = hashRules(rules)
		}
	}
	set := &RuleSet{env: e, version: version, source: source, decls: append([]Rule(nil), rules...)}
	built := e.compileAll(rules, reuse)
	var errs []fieldErr
	seen := map[string]int{}
	for i, r := range rules {
		fail := func(field, format string, args ...any) {
			errs = append(errs, fieldErr{rule: i, field: field, msg: fmt.Sprintf(format, args...)})
		}
		switch {
		case r.Name == "":
			fail("name", "missing name")
		case !validName(r.Name):
			fail("name", "name %q: use letters, digits, '_' and '-'", r.Name)
		}
		if first, dup := seen[r.Name]; dup && r.Name != "" {
			fail("name", "duplicate rule name (first declared as rule %d)", first+1)
			errs[len(errs)-1].first = first
		}
		seen[r.Name] = i
		if r.Target == "" {
			fail("target", "missing target")
		}
		if r.Cooldown < 0 {
			fail("cooldown", "cooldown must not be negative")
		}
		if r.When == "" {
			fail("when", "missing when")
			continue
		}
		c, ferrs := built[i].c, built[i].errs
		for _, fe := range ferrs {
			fe.rule = i
			errs = append(errs, fe)
		}
		if c != nil && !r.Disabled {
			c.index = len(set.rules)
			set.rules = append(set.rules, c)
			for _, j := range c.needJoins {
				if !slices.Contains(set.joins, j) {
					set.joins = append(set.joins, j)
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return set, nil
}

type built struct {
	c    *compiled
	errs []fieldErr
}

// compileAll compiles the rules that have a condition, on up to GOMAXPROCS
// goroutines (a cel.Env is safe for concurrent use), reusing the compiled
// rules of reuse whose declarations are unchanged.
func (e *Env) compileAll(rules []Rule, reuse map[Rule]*compiled) []built {
	out := make([]built, len(rules))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(rules)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i].c, out[i].errs = e.compileRule(rules[i])
			}
		}()
	}
	for i, r := range rules {
		if old, ok := reuse[r]; ok {
			cp := *old
			out[i].c = &cp
		} else if r.When != "" {
			work <- i
		}
	}
	close(work)
	wg.Wait()
	return out
}

func validName(s string) bool {
	for _, c := range s {
		if !(c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// program compiles a checked AST on the fast path when its static cost is
// within the limit, else with runtime cost tracking and interrupt checks.
func (e *Env) program(ast *cel.Ast) (cel.Program, bool, error) {
	est, err := e.cel.EstimateCost(ast, nilEstimator{})
	if err == nil && est.Max <= e.cfg.CostLimit {
		prg, err := e.cel.Program(ast, cel.EvalOptions(cel.OptOptimize))
		return prg, false, err
	}
	prg, err := e.cel.Program(ast, cel.EvalOptions(cel.OptOptimize),
		cel.CostLimit(e.cfg.CostLimit), cel.InterruptCheckFrequency(e.cfg.InterruptCheckFrequency))
	return prg, true, err
}

// EmissionSchema returns the schema of the emissions of the named enabled
// rule (its event's fields, rule, rule_version, at and its payload), or nil.
func (s *RuleSet) EmissionSchema(rule string) *stream.Schema {
	for _, c := range s.rules {
		if c.Name == rule {
			return c.schema
		}
	}
	return nil
}

// Joins returns the names of the joined records the enabled rules read.
func (s *RuleSet) Joins() []string {
	out := make([]string, 0, len(s.joins))
	for _, j := range s.joins {
		out = append(out, s.env.joins[j])
	}
	return out
}

// PayloadFields returns the names of the fields the named rule's payload
// sets (their values may be null: a payload reading an unset field).
func (s *RuleSet) PayloadFields(rule string) []string {
	for _, c := range s.rules {
		if c.Name == rule {
			return append([]string(nil), c.payloadKeys...)
		}
	}
	return nil
}
