package rules

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"

	"github.com/rulestream/rulestream/internal/cputime"
	"github.com/rulestream/rulestream/stream"
)

// BenchmarkUpgradeAd evaluates upgrade_ad's condition on an enriched event
// with the typed activation (the engine's inner step).
func BenchmarkUpgradeAd(b *testing.B) {
	set, err := testEnv().NewRuleSet("", Rule{Name: "upgrade_ad", When: "customer.level < 2 && customer.status == 1", Target: "ads", Cooldown: 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	c := set.rules[0]
	if c.condTracked {
		b.Fatal("upgrade_ad should run on the fast path")
	}
	ev := enriched(1, 7, 9, 0, customer(7, 1, 1, stream.Int(1)))
	act := newActivation(set.env)
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for b.Loop() {
		act.set(&ev, set.joins)
		v, err := en.eval(c.cond, false, act)
		if err != nil || v != types.True {
			b.Fatal(v, err)
		}
	}
	cpu.report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
}

// BenchmarkUpgradeAdMapActivation is the reference the typed activation is
// measured against: the same condition, a plain cel.Env with customer as a
// map, evaluated with a map activation built per event.
func BenchmarkUpgradeAdMapActivation(b *testing.B) {
	env, err := cel.NewEnv(cel.Variable("customer", cel.MapType(cel.StringType, cel.IntType)))
	if err != nil {
		b.Fatal(err)
	}
	ast, iss := env.Compile("customer.level < 2 && customer.status == 1")
	if iss.Err() != nil {
		b.Fatal(iss.Err())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		b.Fatal(err)
	}
	rec := customer(7, 1, 1, stream.Int(1))
	cust := map[string]any{"level": rec.Get("level").Int(), "status": rec.Get("status").Int()}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for b.Loop() {
		v, _, err := prg.Eval(map[string]any{"customer": cust})
		if err != nil || v != types.True {
			b.Fatal(v, err)
		}
	}
	cpu.report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
}

// BenchmarkEngineUpgradeAd runs the engine (counters, cooldown check, no
// firing after the first: the cooldown holds) over one enriched event.
func BenchmarkEngineUpgradeAd(b *testing.B) {
	set, err := testEnv().NewRuleSet("", Rule{Name: "upgrade_ad", When: "customer.level < 2 && customer.status == 1", Target: "ads", Cooldown: 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	benchEngine(b, set)
}

// twentyRules is a set of 20 rules of the demo's shape.
func twentyRules() []Rule {
	var rs []Rule
	for i := 0; i < 20; i++ {
		var when string
		switch i % 4 {
		case 0:
			when = fmt.Sprintf("customer.level < %d && customer.status == 1", i%3+1)
		case 1:
			when = fmt.Sprintf("event.track_id == %d || track.length > %d", i, 100+i)
		case 2:
			when = fmt.Sprintf("customer.campaign == %d && event.ismobile", i%5)
		case 3:
			when = fmt.Sprintf("customer.level < 2 && customer.status == 1 && customer.pred_event == %d", i%2)
		}
		rs = append(rs, Rule{Name: fmt.Sprintf("r%02d", i), When: when, Target: "t", Cooldown: 24 * time.Hour})
	}
	return rs
}

// BenchmarkTwentyRules evaluates a 20-rule set over one event per op.
func BenchmarkTwentyRules(b *testing.B) {
	set, err := testEnv().NewRuleSet("", twentyRules()...)
	if err != nil {
		b.Fatal(err)
	}
	benchEngine(b, set)
}

// BenchmarkTwentyRulesBatch is BenchmarkTwentyRules with the event in a
// batch of 256 (as the runner delivers events); ns/event is the figure.
func BenchmarkTwentyRulesBatch(b *testing.B) {
	set, err := testEnv().NewRuleSet("", twentyRules()...)
	if err != nil {
		b.Fatal(err)
	}
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	in := make([]stream.Event, 256)
	for i := range in {
		in[i] = enriched(int64(i), 7, 9, 0, customer(7, 1, 1, stream.Int(1)))
	}
	var out stream.Emitter
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for b.Loop() {
		out.Reset()
		if err := en.Process(ctx, in, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cputime.Process()-cpu.start)/float64(b.N*len(in)), "cpu-ns/event")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(in)), "ns/event")
}

func benchEngine(b *testing.B, set *RuleSet) {
	en, err := NewEngine(set, EngineConfig{IDField: "event_id"})
	if err != nil {
		b.Fatal(err)
	}
	in := []stream.Event{enriched(1, 7, 9, 0, customer(7, 1, 1, stream.Int(1)))}
	var out stream.Emitter
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for b.Loop() {
		out.Reset()
		if err := en.Process(ctx, in, &out); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// hundredRulesYAML is a 100-rule file; salt changes every condition.
func hundredRulesYAML(salt int) []byte {
	var sb strings.Builder
	sb.WriteString("rules:\n")
	var rs []Rule
	for i := 0; i < 5; i++ {
		rs = append(rs, twentyRules()...)
	}
	for i, r := range rs {
		fmt.Fprintf(&sb, "  - name: rule%03d\n    when: %q\n    target: t%d\n    cooldown: 1h\n", i, r.When+fmt.Sprintf(" && event.event_id != %d", salt), i%3)
	}
	return []byte(sb.String())
}

// BenchmarkReload100 compiles a 100-rule file whose every rule changed and
// swaps it in (a cold reload: nothing reused).
func BenchmarkReload100(b *testing.B) {
	set, err := testEnv().Load("r.yaml", hundredRulesYAML(-1))
	if err != nil {
		b.Fatal(err)
	}
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	files := make([][]byte, 64)
	for i := range files {
		files[i] = hundredRulesYAML(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; b.Loop(); i++ {
		if err := en.Reload("r.yaml", files[i%len(files)]); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/reload")
}

// BenchmarkReload100OneChanged reloads a 100-rule file in which one rule
// changed: the 99 others reuse their compiled programs.
func BenchmarkReload100OneChanged(b *testing.B) {
	base := hundredRulesYAML(-1)
	set, err := testEnv().Load("r.yaml", base)
	if err != nil {
		b.Fatal(err)
	}
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; b.Loop(); i++ {
		data := fmt.Appendf(append([]byte(nil), base...), "  - name: extra\n    when: event.event_id == %d\n    target: t\n", i)
		if err := en.Reload("r.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/reload")
}

// BenchmarkDemoBatch runs the demo rule set over batches of 1024 enriched
// plays of 1000 customers (a mix of levels and statuses), as the runner
// delivers them (16 batches, cycled: after the first round the cooldowns
// hold); the metric is events per second.
func BenchmarkDemoBatch(b *testing.B) {
	set, err := loadDemo()
	if err != nil {
		b.Fatal(err)
	}
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	custs := make([]*stream.Record, 1000)
	for i := range custs {
		custs[i] = customer(int64(i), int64(i%3), int64(min(i%10, 1)), stream.Int(int64(i%2)))
	}
	batches := make([][]stream.Event, 16)
	for k := range batches {
		batches[k] = make([]stream.Event, 1024)
		for i := range batches[k] {
			id := int64(k*1024 + i)
			batches[k][i] = enriched(id, id%1000, id%500, time.Duration(id)*time.Second, custs[id%1000])
		}
	}
	batch := batches[0]
	var out stream.Emitter
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	for i := 0; b.Loop(); i++ {
		out.Reset()
		if err := en.Process(ctx, batches[i%len(batches)], &out); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "events/s")
}
