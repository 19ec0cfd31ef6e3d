package rules

import (
	"errors"
	"fmt"
	"sync"

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

// EnvConfig configures the CEL environment rules are compiled in. Zero
// values mean the defaults.
type EnvConfig struct {
	// EventSchema types the `event` variable. Default stream.PlaySchema.
	EventSchema *stream.Schema
	// Joins declares the joined records. Default: customer
	// (stream.CustomerSchema) and track (stream.TrackSchema).
	Joins []Join
	// CostLimit bounds the cost of one evaluation (cel-go cost units). A
	// rule whose static worst-case cost is within the limit runs on the fast
	// path; any other rule runs with runtime cost tracking and interrupt
	// checks and is stopped when it exceeds the limit. Default 10000.
	CostLimit uint64
	// InterruptCheckFrequency is how many comprehension iterations pass
	// between checks of the context on tracked rules. Default 100.
	InterruptCheckFrequency uint
	// Options extend the environment, for instance with functions bound to
	// a live model: cel.Function("ad_score", cel.Overload("ad_score_customer",
	// []*cel.Type{rules.RecordType("customer")}, cel.DoubleType,
	// cel.UnaryBinding(...))). Use RecordOf to read the record in a binding.
	Options []cel.EnvOption
}

func (c *EnvConfig) setDefaults() {
	if c.EventSchema == nil {
		c.EventSchema = stream.PlaySchema
	}
	if c.Joins == nil {
		c.Joins = []Join{{"customer", stream.CustomerSchema}, {"track", stream.TrackSchema}}
	}
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
	seen := map[string]bool{}
	for _, j := range c.Joins {
		switch {
		case j.Name == "" || j.Schema == nil:
			errs = append(errs, fmt.Errorf("join %q: want a name and a schema", j.Name))
		case reserved[j.Name] || seen[j.Name]:
			errs = append(errs, fmt.Errorf("join %q: name already declared", j.Name))
		}
		seen[j.Name] = true
	}
	return errors.Join(errs...)
}

// Env is the shared CEL environment: it declares event, the joined records,
// window and now, with the standard library and the configured options. It
// is immutable and safe for concurrent use; each rule set extends it.
type Env struct {
	cfg   EnvConfig
	cel   *cel.Env
	prov  *provider
	joins []string // join names, in declaration order
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
	win := windowObject()
	p.objects[ev.name], p.objects[win.name] = ev, win
	opts := []cel.EnvOption{
		cel.CustomTypeProvider(p), cel.CustomTypeAdapter(p),
		cel.Variable("event", ev.typ), cel.Variable("window", win.typ),
		cel.Variable("now", cel.TimestampType),
		cel.ParserExpressionSizeLimit(maxExprSize),
	}
	e := &Env{cfg: cfg, prov: p}
	for _, j := range cfg.Joins {
		o := schemaObject(j.Name, j.Schema, false)
		p.objects[o.name] = o
		opts = append(opts, cel.Variable(j.Name, o.typ))
		e.joins = append(e.joins, j.Name)
	}
	opts = append(opts, cfg.Options...)
	ce, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("rules env: %w", err)
	}
	e.cel = ce
	return e, nil
}

var defaultEnv = sync.OnceValues(func() (*Env, error) { return NewEnv(EnvConfig{}) })

// DefaultEnv returns the environment of the demo: plays, customer and track.
func DefaultEnv() *Env {
	e, err := defaultEnv()
	if err != nil {
		panic("rules: default env: " + err.Error()) // literal configuration; cannot fail
	}
	return e
}

// CEL returns the underlying cel.Env (for tools that compile ad-hoc
// expressions against the same declarations).
func (e *Env) CEL() *cel.Env { return e.cel }

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
// the base environment is shared, not copied or changed.
func (e *Env) Extend(opts ...cel.EnvOption) (*Env, error) {
	ce, err := e.cel.Extend(opts...)
	if err != nil {
		return nil, fmt.Errorf("rules env: %w", err)
	}
	x := *e
	x.cel = ce
	return &x, nil
}
