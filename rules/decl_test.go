package rules

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

// zipSchema is the key schema of a tumbling window keyed by zip code.
var zipSchema = stream.MustSchema("zips", stream.Field{Name: "listening_zip_code", Kind: stream.KindString})

func declEnv(t *testing.T) *Env {
	t.Helper()
	env, err := NewEnv(EnvConfig{EventSchema: gen.PlaySchema, Joins: demoJoins(), Targets: []string{"t", "u"},
		Windows: []WindowDecl{
			{Name: "repeats", Kind: "count_within"},
			{Name: "hourly", Kind: "tumbling", Event: zipSchema, Aggregates: []stream.Field{
				{Name: "plays", Kind: stream.KindInt}, {Name: "mobile", Kind: stream.KindFloat},
				{Name: "last_track", Kind: stream.KindInt}, {Name: "first_at", Kind: stream.KindTime}}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestTypedAggregates(t *testing.T) {
	env := declEnv(t)
	set, err := env.NewRuleSet("v1", Rule{Name: "busy", Window: "hourly", Target: "t",
		When:    "window.aggregates.plays > 2 && window.aggregates.mobile >= 0.5 && event.listening_zip_code == '95051'",
		Payload: `{"plays": window.aggregates.plays, "first_at": window.aggregates.first_at}`})
	if err != nil {
		t.Fatal(err)
	}
	en, _ := NewEngine(set, EngineConfig{})
	start, end := t0.UnixNano(), t0.Add(time.Hour).UnixNano()
	res := stream.Event{Key: "95051", Time: end - 1, Schema: zipSchema, Fields: []stream.Value{stream.String("95051")},
		Window: &stream.WindowInfo{Name: "hourly", Kind: "tumbling", Key: "95051", Start: start, End: end, Count: 3,
			Aggs: map[string]stream.Value{"plays": stream.Int(3), "mobile": stream.Float(0.5), "first_at": stream.TimeNanos(start)}}}
	out := process(t, en, res)
	if len(out) != 1 {
		t.Fatalf("%d emissions", len(out))
	}
	em := out[0]
	if em.ID != "busy:95051:"+stream.Int(start).Text()+"-"+stream.Int(end).Text() {
		t.Errorf("id %q", em.ID)
	}
	if em.Get("listening_zip_code").Str() != "95051" || em.Get("plays").Int() != 3 || em.Get("first_at").Nanos() != start || em.Get("rule").Str() != "busy" {
		t.Errorf("emission %v %v", em.Schema.Fields(), em.Fields)
	}
	// An aggregate with no result (the window saw no value) reads as null:
	// comparing it is a runtime error, counted, and the rule does not fire.
	delete(res.Window.Aggs, "mobile")
	if out := process(t, en, res); len(out) != 0 || en.Stats().Rule("busy").Errors != 1 {
		t.Fatalf("null aggregate: %v %+v", out, en.Stats().Rule("busy"))
	}
	for _, tc := range []struct {
		rule Rule
		want string
	}{
		{Rule{Name: "a", Window: "hourly", When: "window.aggregates.plays == 'x'", Target: "t"}, "no matching overload"},
		{Rule{Name: "b", Window: "hourly", When: "window.aggregates.nope > 1", Target: "t"}, "undefined field 'nope'"},
		{Rule{Name: "c", Window: "hourly", When: "event.track_id > 1", Target: "t"}, "undefined field 'track_id'"},
		{Rule{Name: "d", Window: "repeats", When: "window.aggregates.plays > 1", Target: "t"}, "undefined field 'plays'"},
		{Rule{Name: "e", Window: "daily", When: "true", Target: "t"}, `window: unknown window "daily" (declared: hourly, repeats)`},
		{Rule{Name: "f", When: "true", Target: "v"}, `target: unknown target "v" (declared: t, u)`},
	} {
		_, err := env.NewRuleSet("", tc.rule)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("rule %s: error %v, want %q", tc.rule.Name, err, tc.want)
		}
	}
}

func TestEnvConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  EnvConfig
		want string
	}{
		{EnvConfig{}, "EventSchema is required"},
		{EnvConfig{EventSchema: gen.PlaySchema, Windows: []WindowDecl{{Name: "a-b"}}}, `window "a-b": use letters`},
		{EnvConfig{EventSchema: gen.PlaySchema, Windows: []WindowDecl{{Name: "w"}, {Name: "w"}}}, `window "w" declared twice`},
		{EnvConfig{EventSchema: gen.PlaySchema, Joins: []Join{{"event", gen.TrackSchema}}}, `join "event": name already declared`},
		{EnvConfig{EventSchema: gen.PlaySchema, Windows: []WindowDecl{{Name: "w", Aggregates: []stream.Field{{Name: "x"}, {Name: "x"}}}}}, `aggregate "x"`},
	} {
		if _, err := NewEnv(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}

func TestExtendKeepsWindows(t *testing.T) {
	env, err := declEnv(t).Extend()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.NewRuleSet("", Rule{Name: "a", Window: "hourly", When: "window.aggregates.plays > 1", Target: "t"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(env.Windows(), ","); got != "hourly,repeats" {
		t.Fatalf("windows %s", got)
	}
}

func TestFilter(t *testing.T) {
	env := declEnv(t)
	f, err := env.NewFilter("w", "event.ismobile && customer.level < 2", FilterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	mobile := enriched(1, 7, 3, 0, customer(7, 1, 1, stream.Null()))
	mobile.Fields[playIsMobile] = stream.Bool(true)
	gold := enriched(2, 8, 3, 0, customer(8, 2, 1, stream.Null()))
	gold.Fields[playIsMobile] = stream.Bool(true)
	desk := enriched(3, 7, 3, 0, customer(7, 1, 1, stream.Null()))
	unknown := play(4, 9, 3, 0)
	var out stream.Emitter
	if err := f.Process(context.Background(), []stream.Event{mobile, gold, desk, unknown}, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Events()) != 1 || out.Events()[0].Get("event_id").Int() != 1 {
		t.Fatalf("kept %v", out.Events())
	}
	if st := f.Stats(); st != (FilterStats{Passed: 1, Dropped: 2, Skipped: 1}) {
		t.Fatalf("stats %+v", st)
	}
	// A runtime error drops the event and is counted.
	g, err := env.NewFilter("g", "customer.pred_event > 0", FilterConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out.Reset()
	_ = g.Process(context.Background(), []stream.Event{mobile}, &out)
	if len(out.Events()) != 0 || g.Stats().Errors != 1 {
		t.Fatalf("runtime error: %v %+v", out.Events(), g.Stats())
	}
	for expr, want := range map[string]string{
		"":                    "empty condition",
		"event.ismobil":       "1:6: undefined field 'ismobil'",
		"event.track_id":      "must return bool",
		"window.count > 2":    "reads the events entering it",
		"event.track_id == (": "Syntax error",
	} {
		if _, err := env.NewFilter("x", expr, FilterConfig{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", expr, err, want)
		}
	}
}

func TestLoadYAMLPositions(t *testing.T) {
	src := `name: job
rules:
  - name: plain
    when: customer.levl < 2
    target: t
  - name: quoted
    when: "customer.level < 2 && customer.sttus == 1"
    target: t
  - name: block
    when: |
      customer.level < 2 &&
        customer.stats == 1
    target: t
  - name: folded
    when: >-
      customer.level < 2 &&
      customer.stauts == 1
    target: t
  - name: multi
    when: customer.level < 2
      && customer.statu == 1
    target: t
`
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	rulesNode := doc.Content[0].Content[3]
	_, err := declEnv(t).LoadYAML("job.yaml", []byte(src), rulesNode, "", nil)
	if err == nil {
		t.Fatal("no error")
	}
	var got []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.HasPrefix(line, "job.yaml:") {
			got = append(got, line[:strings.Index(line, ": when")])
		}
	}
	want := []string{
		`job.yaml:4:19: rule "plain"`,  // customer.levl: the select's dot is at column 19
		`job.yaml:7:42: rule "quoted"`, // inside the quotes
		`job.yaml:12:17: rule "block"`, // second line of the literal block
		`job.yaml:17:15: rule "folded"`,
		`job.yaml:21:18: rule "multi"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("positions:\n%s\nwant:\n%s\n(full error: %v)", strings.Join(got, "\n"), strings.Join(want, "\n"), err)
	}
}

func TestSequenceSteps(t *testing.T) {
	env, err := NewEnv(EnvConfig{EventSchema: gen.PlaySchema, Windows: []WindowDecl{{Name: "seq", Kind: "sequence", Steps: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	set, err := env.NewRuleSet("", Rule{Name: "s", Window: "seq", Target: "t",
		When:    "window.steps[0].track_id != window.steps[1].track_id && window.steps[1].time - window.steps[0].time <= duration('5m')",
		Payload: `{"first_zip": window.steps[0].listening_zip_code}`})
	if err != nil {
		t.Fatal(err)
	}
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	first, last := play(1, 7, 3, 0), play(2, 7, 4, 3*time.Minute)
	first.Fields[playZip] = stream.String("10001")
	res := last
	res.Window = &stream.WindowInfo{Name: "seq", Kind: "sequence", Key: "7", Count: 2, First: first.Time, Last: last.Time,
		Steps: []stream.Matched{{Time: first.Time, Fields: first.Fields}, {Time: last.Time, Fields: last.Fields}}}
	out := process(t, en, res)
	if len(out) != 1 || out[0].Get("first_zip").Str() != "10001" || out[0].ID != "s:7:2" {
		t.Fatalf("emissions %+v", out)
	}
	if _, err := env.NewRuleSet("", Rule{Name: "x", Window: "seq", Target: "t", When: "window.steps[0].nope > 1"}); err == nil ||
		!strings.Contains(err.Error(), "undefined field 'nope'") {
		t.Fatalf("unknown step field: %v", err)
	}
}
