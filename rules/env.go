package rules

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"github.com/rulestream/rulestream/stream"
)

// Join declares a record that enrichment joins onto events under Name; rules
// read it as a CEL variable of that name, typed by Schema.
type Join struct {
	Name   string
	Schema *stream.Schema
}

// WindowDecl declares a window whose results rules may read (a rule with
// window: Name). Rules on its results see `window` typed for it, its
// aggregates included, and `event` typed by Event.
type WindowDecl struct {
	// Name is the window's name (WindowInfo.Name of its results): letters,
	// digits and '_', not starting with a digit. Required.
	Name string
	// Kind is the window's kind ("count_within", "tumbling", ...), for
	// documentation and error messages.
	Kind string
	// Event types the event fields of the window's results: nil for windows
	// whose result is the event that completed it (count_within), else the
	// schema of their fields (for time windows, the key fields).
	Event *stream.Schema
	// Aggregates are the window's aggregates, by name and kind: rules read
	// them as window.aggregates.<name>, typed (int, double, string, bool or
	// timestamp). A null aggregate (a sum of no values) reads as null.
	Aggregates []stream.Field
	// Steps is the number of steps of a sequence: rules read the matched
	// events as window.steps[i] (0-based), each with the fields of Event
	// (or the input's) and time, the event's time.
	Steps int
}

// EnvConfig configures the CEL environment rules are compiled in. Zero
// values mean the defaults.
type EnvConfig struct {
	// EventSchema types the `event` variable: the fields of the input
	// events. Required.
	EventSchema *stream.Schema
	// Joins declares the records enrichment joins onto events (none by
	// default).
	Joins []Join
	// Windows declares the windows rules may read. A rule naming a window
	// that is not declared is refused when loaded.
	Windows []WindowDecl
	// Targets, when not nil, lists the targets rules may emit to: a rule
	// naming any other is refused when loaded (and when reloaded, so the
	// live set stays). Nil allows any target.
	Targets []string
	// CostLimit bounds the cost of one evaluation (cel-go cost units). A
	// rule whose static worst-case cost is within the limit runs on the fast
	// path; any other rule runs with runtime cost tracking and interrupt
	// checks and is stopped when it exceeds the limit. Default 10000.
	CostLimit uint64
	// InterruptCheckFrequency is how many comprehension iterations pass
	// between checks of the context on tracked rules. Default 100.
	InterruptCheckFrequency uint
	// Options extend the environment, for instance with functions bound to
	// a live model: cel.Function("score", cel.Overload("score_user",
	// []*cel.Type{rules.RecordType("user")}, cel.DoubleType,
	// cel.UnaryBinding(...))). Use RecordOf to read the record in a binding.
	Options []cel.EnvOption
}

func (c *EnvConfig) setDefaults() {
	if c.CostLimit == 0 {
		c.CostLimit = 10000
	}
	if c.InterruptCheckFrequency == 0 {
		c.InterruptCheckFrequency = 100
	}
}

// maxExprSize bounds a rule expression (code points), so a pathological
// file cannot make loading slow.
const maxExprSize = 64 << 10

// reserved are the variables every environment declares.
var reserved = map[string]bool{"event": true, "window": true, "now": true}

// Validate reports settings that cannot work.
func (c EnvConfig) Validate() error {
	var errs []error
	if c.EventSchema == nil {
		errs = append(errs, errors.New("EventSchema is required: the fields of the input events"))
	}
	seen := map[string]bool{}
	for _, j := range c.Joins {
		switch {
		case j.Name == "" || j.Schema == nil:
			errs = append(errs, fmt.Errorf("join %q: want a name and a schema", j.Name))
		case !isIdent(j.Name):
			errs = append(errs, fmt.Errorf("join %q: use letters, digits and '_'", j.Name))
		case reserved[j.Name] || seen[j.Name]:
			errs = append(errs, fmt.Errorf("join %q: name already declared", j.Name))
		}
		seen[j.Name] = true
	}
	wins := map[string]bool{}
	for _, w := range c.Windows {
		switch {
		case !isIdent(w.Name):
			errs = append(errs, fmt.Errorf("window %q: use letters, digits and '_', not starting with a digit", w.Name))
		case wins[w.Name]:
			errs = append(errs, fmt.Errorf("window %q declared twice", w.Name))
		}
		wins[w.Name] = true
		aggs := map[string]bool{}
		for _, a := range w.Aggregates {
			if !isIdent(a.Name) || aggs[a.Name] {
				errs = append(errs, fmt.Errorf("window %q: aggregate %q: want a unique name of letters, digits and '_'", w.Name, a.Name))
			}
			aggs[a.Name] = true
		}
	}
	return errors.Join(errs...)
}

// IsIdent reports whether s can name a CEL variable or field: letters,
// digits and '_', not starting with a digit, and not a CEL reserved word
// (a rule could not write event.in, nor read a join named in).
func IsIdent(s string) bool {
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return s != "" && !celReserved[s]
}

func isIdent(s string) bool { return IsIdent(s) }

// celReserved are CEL's reserved words and literals.
var celReserved = map[string]bool{"as": true, "break": true, "const": true, "continue": true, "else": true,
	"false": true, "for": true, "function": true, "if": true, "import": true, "in": true, "let": true, "loop": true,
	"package": true, "namespace": true, "null": true, "return": true, "true": true, "var": true, "void": true, "while": true}

// Env is the shared CEL environment: it declares event, the joined records,
// window and now, with the standard library and the configured options. It
// is immutable and safe for concurrent use; each rule set extends it. Rules
// of a declared window compile in that window's environment (see Window).
type Env struct {
	cfg     EnvConfig
	cel     *cel.Env
	prov    *provider
	joins   []string        // join names, in declaration order
	event   string          // type name of `event` here
	win     string          // type name of `window` here
	schema  *stream.Schema  // the schema of `event` here
	decl    *WindowDecl     // the window of this environment, or nil
	windows map[string]*Env // the windows' environments, shared by all of them
	targets map[string]bool // nil: any target
}

// NewEnv builds an environment.
func NewEnv(cfg EnvConfig) (*Env, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("rules env: %w", err)
	}
	p := &provider{Registry: types.NewEmptyRegistry(), objects: map[string]*objectType{}}
	if std, err := types.NewRegistry(); err == nil {
		p.Registry = std
	}
	ev := schemaObject("event", cfg.EventSchema, true)
	noAggs := aggregatesObject("window.aggregates", nil)
	win := windowObject("window", noAggs, nil)
	p.objects[ev.name], p.objects[win.name], p.objects[noAggs.name] = ev, win, noAggs
	var joins []string
	for _, j := range cfg.Joins {
		o := schemaObject(j.Name, j.Schema, false)
		p.objects[o.name] = o
		joins = append(joins, j.Name)
	}
	base := &Env{cfg: cfg, prov: p, joins: joins, event: ev.name, win: win.name, schema: cfg.EventSchema, windows: map[string]*Env{}}
	if cfg.Targets != nil {
		base.targets = map[string]bool{}
		for _, t := range cfg.Targets {
			base.targets[t] = true
		}
	}
	if err := base.build(ev.typ, win.typ); err != nil {
		return nil, err
	}
	for i := range cfg.Windows {
		d := &cfg.Windows[i]
		we := *base
		we.decl = d
		evType := ev.typ
		if d.Event != nil {
			o := schemaObject("window."+d.Name+".event", d.Event, true)
			p.objects[o.name] = o
			we.event, we.schema, evType = o.name, d.Event, o.typ
		}
		aggs := aggregatesObject("window."+d.Name+".aggregates", d.Aggregates)
		p.objects[aggs.name] = aggs
		var steps *objectType
		if d.Steps > 0 {
			schema := cfg.EventSchema
			if d.Event != nil {
				schema = d.Event
			}
			steps = stepObject("window."+d.Name+".step", schema)
			p.objects[steps.name] = steps
		}
		w := windowObject("window."+d.Name, aggs, steps)
		p.objects[w.name] = w
		we.win = w.name
		if err := we.build(evType, w.typ); err != nil {
			return nil, fmt.Errorf("window %s: %w", d.Name, err)
		}
		base.windows[d.Name] = &we
	}
	return base, nil
}

// build makes the cel environment of e with `event` and `window` typed.
func (e *Env) build(event, window *types.Type, extra ...cel.EnvOption) error {
	opts := []cel.EnvOption{
		cel.CustomTypeProvider(e.prov), cel.CustomTypeAdapter(e.prov),
		cel.Variable("event", event), cel.Variable("window", window),
		cel.Variable("now", cel.TimestampType),
		cel.ParserExpressionSizeLimit(maxExprSize),
	}
	for _, j := range e.joins {
		opts = append(opts, cel.Variable(j, types.NewObjectType(typePrefix+j)))
	}
	opts = append(opts, e.cfg.Options...)
	opts = append(opts, extra...)
	ce, err := cel.NewEnv(opts...)
	if err != nil {
		return fmt.Errorf("rules env: %w", err)
	}
	e.cel = ce
	return nil
}

// CEL returns the underlying cel.Env (for tools that compile ad-hoc
// expressions against the same declarations).
func (e *Env) CEL() *cel.Env { return e.cel }

// EventSchema returns the schema `event` is typed by in this environment.
func (e *Env) EventSchema() *stream.Schema { return e.schema }

// Window returns the environment rules of the named window compile in, and
// whether the window is declared.
func (e *Env) Window(name string) (*Env, bool) {
	w, ok := e.windows[name]
	return w, ok
}

// Windows returns the names of the declared windows, sorted.
func (e *Env) Windows() []string {
	names := make([]string, 0, len(e.windows))
	for n := range e.windows {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// envFor returns the environment a rule of window name compiles in (e's
// base environment for "").
func (e *Env) envFor(window string) (*Env, error) {
	if window == "" {
		if e.decl == nil {
			return e, nil
		}
		return nil, errors.New("no base environment")
	}
	w, ok := e.windows[window]
	if !ok {
		if len(e.windows) == 0 {
			return nil, fmt.Errorf("unknown window %q (no window is declared)", window)
		}
		return nil, fmt.Errorf("unknown window %q (declared: %s)", window, strings.Join(e.Windows(), ", "))
	}
	return w, nil
}

// checkTarget reports a target the environment does not allow.
func (e *Env) checkTarget(t string) error {
	if e.targets == nil || e.targets[t] {
		return nil
	}
	known := make([]string, 0, len(e.targets))
	for k := range e.targets {
		known = append(known, k)
	}
	if len(known) == 0 {
		return fmt.Errorf("unknown target %q (no target rules may emit to is declared)", t)
	}
	slices.Sort(known)
	return fmt.Errorf("unknown target %q (declared: %s)", t, strings.Join(known, ", "))
}

// joinIndex returns the position of a join name, or -1.
func (e *Env) joinIndex(name string) int {
	for i, n := range e.joins {
		if n == name {
			return i
		}
	}
	return -1
}

// Extend returns an environment with the same declarations plus opts (for
// instance a function bound to a live model), built with cel's Env.Extend:
// the base environment is shared, not copied or changed. Every window's
// environment is extended the same way.
func (e *Env) Extend(opts ...cel.EnvOption) (*Env, error) {
	if e.decl != nil {
		return nil, errors.New("rules env: extend the base environment, not a window's")
	}
	ext := func(x *Env) (*Env, error) {
		ce, err := x.cel.Extend(opts...)
		if err != nil {
			return nil, fmt.Errorf("rules env: %w", err)
		}
		y := *x
		y.cel = ce
		return &y, nil
	}
	base, err := ext(e)
	if err != nil {
		return nil, err
	}
	base.windows = map[string]*Env{}
	for name, w := range e.windows {
		nw, err := ext(w)
		if err != nil {
			return nil, fmt.Errorf("window %s: %w", name, err)
		}
		nw.windows = base.windows
		base.windows[name] = nw
	}
	return base, nil
}
