package rules

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// BacktestConfig configures Backtest. Zero values mean the defaults.
type BacktestConfig struct {
	// Upstream are the operators between the source and the rules, as in
	// the live pipeline (dedup, enrichment, an event-time order, windows).
	Upstream []stream.Operator
	// Samples is how many emissions to keep per rule. Default 3.
	Samples int
	// Explain makes samples carry the explain field.
	Explain bool
	// Engine configures the engine (its key and id fields, as in the live
	// pipeline); Explain above is added to it.
	Engine EngineConfig
	// Pipeline configures the backtest's pipeline (watermark bounds...).
	Pipeline stream.Config
}

// Report is the result of a backtest: what each rule would have emitted.
type Report struct {
	Version string       // the rule set's version
	Events  int64        // events read from the source
	Rules   []RuleReport // enabled rules, in declaration order
}

// RuleReport is the backtest result of one rule.
type RuleReport struct {
	Rule, Target string
	Firings      int64          // emissions
	Keys         int            // distinct firing keys
	Suppressed   int64          // held back by the cooldown
	Skipped      int64          // events lacking a record the rule reads
	Errors       int64          // runtime errors
	Samples      []stream.Event // the first emissions
}

// Backtest runs set over a historical source through a pipeline made of
// the upstream operators and a rules Engine, writing no target, and reports
// per rule how often it would fire, on how many distinct keys, with a few
// samples.
func Backtest(ctx context.Context, set *RuleSet, src stream.Source, cfg BacktestConfig) (*Report, error) {
	if cfg.Samples <= 0 {
		cfg.Samples = 3
	}
	ec := cfg.Engine
	ec.Explain = ec.Explain || cfg.Explain
	en, err := NewEngine(set, ec)
	if err != nil {
		return nil, err
	}
	rep := &Report{Version: set.version}
	byName := map[string]*RuleReport{}
	keys := map[string]map[string]struct{}{}
	for _, c := range set.rules {
		rep.Rules = append(rep.Rules, RuleReport{Rule: c.Name, Target: c.Target})
		keys[c.Name] = map[string]struct{}{}
	}
	for i := range rep.Rules {
		byName[rep.Rules[i].Rule] = &rep.Rules[i]
	}
	sink := stream.SinkFunc(func(_ context.Context, evs []stream.Event) error {
		for _, ev := range evs {
			name, _, _ := strings.Cut(ev.ID, ":")
			r, ok := byName[name]
			if !ok {
				continue
			}
			keys[name][ev.Key] = struct{}{}
			if len(r.Samples) < cfg.Samples {
				ev.Fields = append([]stream.Value(nil), ev.Fields...)
				ev.Joins = append([]stream.Join(nil), ev.Joins...)
				r.Samples = append(r.Samples, ev)
			}
		}
		return nil
	})
	p := stream.New("backtest", cfg.Pipeline).From(src).Via(append(append([]stream.Operator(nil), cfg.Upstream...), en)...).To(sink)
	if err := p.Run(ctx); err != nil {
		return nil, fmt.Errorf("rules: backtest: %w", err)
	}
	rep.Events = p.Stats().EventsIn
	st := en.Stats()
	for i := range rep.Rules {
		r := &rep.Rules[i]
		s := st.Rule(r.Rule)
		r.Firings, r.Suppressed, r.Skipped, r.Errors = s.Firings, s.Suppressed, s.Skipped, s.Errors
		r.Keys = len(keys[r.Rule])
	}
	return rep, nil
}

// Format writes the report as text: a table of the rules, then the samples.
func (r *Report) Format(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "backtest of rule set %s over %d events\n", r.Version, r.Events)
	fmt.Fprintln(tw, "rule\ttarget\tfirings\tkeys\tsuppressed\tskipped\terrors")
	for _, x := range r.Rules {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\n", x.Rule, x.Target, x.Firings, x.Keys, x.Suppressed, x.Skipped, x.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, x := range r.Rules {
		for _, s := range x.Samples {
			var b strings.Builder
			fmt.Fprintf(&b, "  %s %s %s", x.Rule, s.ID, time.Unix(0, s.Time).UTC().Format(time.RFC3339))
			for i, v := range s.Fields {
				f := s.Schema.Field(i).Name
				if f == "rule" || f == "rule_version" || f == "at" {
					continue
				}
				fmt.Fprintf(&b, " %s=%s", f, v.Text())
			}
			if _, err := fmt.Fprintln(w, b.String()); err != nil {
				return err
			}
		}
	}
	return nil
}
