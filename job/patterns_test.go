package job

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// The pattern windows' own errors, each at its node.
func TestLoadErrorsPatterns(t *testing.T) {
	src := `windows:
  - name: seq
    type: sequence
    key: user
    steps: [event.n > 1.0]
    within: 10m
  - name: seq2
    type: sequence
    key: user
    steps:
      - event.n > 1.0
      - event.nn < 2.0
    within: 0s
  - name: abs
    type: absence
    key: user
    start: event.n > 1.0
    end: "event.user == 1"
    within: 30m
  - name: nv
    type: new_value
    key: user
    field: ip
    within: 24h
  - name: dc
    type: distinct_count
    key: user
    field: track
    count: 0
    within: 1h
  - name: dc2
    type: distinct_count
    key: user
    within: 1h
`
	want := []string{
		"job.yaml:5:12: windows[0].steps: want at least two steps (one is a where:)",
		"job.yaml:12:14: windows[1].steps[1]: undefined field 'nn'\n | event.nn < 2.0\n | .....^",
		"job.yaml:13:13: windows[1].within: must be positive",
		"job.yaml:18:22: windows[2].end: found no matching overload for '_==_' applied to '(string, int)'\n | event.user == 1\n | ...........^",
		"job.yaml:23:12: windows[3].field: no input field \"ip\" (fields: id, user, track, ts, n)",
		"job.yaml:29:12: windows[4].count: must be between 1 and 32768",
		"job.yaml:31:5: windows[5]: missing field",
		"job.yaml:31:5: windows[5]: missing count",
	}
	es := parseErrors(t, withBase(src))
	if es.Error() != strings.Join(want, "\n") {
		t.Errorf("errors:\n%v\nwant:\n%s", es, strings.Join(want, "\n"))
	}
}

// A rule on a new_value window, through the job's operators: the first
// track of a user, and a track back after more than an hour, are new.
func TestNewValueThroughJob(t *testing.T) {
	j := mustParse(t, withBase(`windows:
  - name: new_track
    type: new_value
    key: user
    field: track
    within: 1h
rules:
  - name: fresh
    window: new_track
    when: window.count == 1 && event.n >= 0.0
    target: out
`))
	if p := j.Plan(); p.String() != "dedup → [new_track] → rules" {
		t.Fatalf("plan %s", p)
	}
	b, err := j.Build(BuildConfig{Redis: deadRedis(t)})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(id int64, user string, track int64, at time.Duration) stream.Event {
		ts := t0.Add(at)
		return stream.Event{Key: user, Time: ts.UnixNano(), Schema: j.Schema, Pos: stream.Position{Source: "in", Partition: -1, Offset: id},
			Fields: []stream.Value{stream.Int(id), stream.String(user), stream.Int(track), stream.Time(ts), stream.Float(1)}}
	}
	in := []stream.Event{ev(1, "ann", 7, 0), ev(2, "ann", 7, 30*time.Minute), ev(3, "bob", 7, 31*time.Minute),
		ev(4, "ann", 7, 150*time.Minute), ev(5, "ann", 8, 151*time.Minute), ev(5, "ann", 8, 151*time.Minute)}
	ops, err := b.Operators(stream.PartitionID{Partition: -1})
	if err != nil {
		t.Fatal(err)
	}
	out := stream.NewCollectSink()
	p := stream.New("t", stream.Config{})
	p.From(stream.NewSliceSource("in", in, 0)).Via(ops...).To(out)
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range out.Events() {
		got = append(got, e.ID)
	}
	if want := "fresh:ann:1 fresh:bob:3 fresh:ann:4 fresh:ann:5"; strings.Join(got, " ") != want {
		t.Fatalf("emissions %q, want %q", strings.Join(got, " "), want)
	}
}

// Names given twice in a key or fields list, and a cooldown without an
// input key, are refused at load.
func TestLoadErrorsRepeatsAndKeylessCooldown(t *testing.T) {
	es := parseErrors(t, `input:
  path: x
  columns: [user, t]
  fields: {user: string, t: time}
  time: t
  key: [user, user]
windows:
  - name: w
    type: count_within
    key: [user, user]
    count: 2
    within: 1m
rules:
  - name: r
    window: w
    when: "true"
    target: out
targets:
  - name: out
    type: stream
    key: q
    fields: [user, user]
`)
	want := []string{
		`job.yaml:6:15: input.key: "user" named twice`,
		`job.yaml:10:17: windows[0].key: "user" named twice`,
		`job.yaml:22:20: targets[0].fields: "user" named twice`,
	}
	if es.Error() != strings.Join(want, "\n") {
		t.Errorf("errors:\n%v\nwant:\n%s", es, strings.Join(want, "\n"))
	}
	es = parseErrors(t, strings.Replace(withBase(`rules:
  - name: r
    when: "true"
    target: out
    cooldown: 1h
`), "  key: user\n", "", 1))
	if want := "job.yaml:5:15: rules[r].cooldown: a cooldown holds back a key's emissions, and the input has no key: give input.key"; es.Error() != want {
		t.Errorf("errors:\n%v\nwant:\n%s", es, want)
	}
}

// A lookup that drops events it finds no hash for runs though no rule
// reads it: it filters the input.
func TestPlanKeepsFilteringLookups(t *testing.T) {
	j := mustParse(t, withBase(`lookups:
  - name: account
    key: "account:{user}"
    fields: {plan: string}
    unknown: drop
`))
	if p := j.Plan(); p.String() != "dedup → account → rules" || len(p.Unused) != 0 {
		t.Fatalf("plan %s, unused %v", p, p.Unused)
	}
}

// max_matches and max_pending reach the operators: an absence holding at
// most two pending starts per key drops the oldest of three, counted as an
// eviction, and reports the other two; the bounds are printed, and a bound
// that is not a positive number is refused at its node.
func TestPatternBounds(t *testing.T) {
	j := mustParse(t, withBase(`windows:
  - name: idle
    type: absence
    key: user
    start: event.track == 1
    end: event.track == 2
    within: 10m
    max_matches: 2
    max_pending: 100
rules:
  - name: idle_hit
    window: idle
    when: "true"
    target: out
`))
	var printed strings.Builder
	if err := j.Print(&printed); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"max_matches: 2", "max_pending: 100", "max_keys: 4194304"} {
		if !strings.Contains(printed.String(), want) {
			t.Errorf("printed job lacks %q:\n%s", want, printed.String())
		}
	}
	b, err := j.Build(BuildConfig{Redis: deadRedis(t)})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(id int64, track int64, at time.Duration) stream.Event {
		ts := t0.Add(at)
		return stream.Event{Key: "ann", Time: ts.UnixNano(), Schema: j.Schema, Pos: stream.Position{Source: "in", Partition: -1, Offset: id},
			Fields: []stream.Value{stream.Int(id), stream.String("ann"), stream.Int(track), stream.Time(ts), stream.Float(1)}}
	}
	in := []stream.Event{ev(1, 1, 0), ev(2, 1, time.Minute), ev(3, 1, 2*time.Minute), ev(4, 3, time.Hour)}
	ops, err := b.Operators(stream.PartitionID{Partition: -1})
	if err != nil {
		t.Fatal(err)
	}
	out := stream.NewCollectSink()
	p := stream.New("t", stream.Config{})
	p.From(stream.NewSliceSource("in", in, 0)).Via(ops...).To(out)
	if err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range out.Events() {
		got = append(got, e.ID)
	}
	if want := "idle_hit:ann:2 idle_hit:ann:3"; strings.Join(got, " ") != want {
		t.Fatalf("emissions %q, want %q", strings.Join(got, " "), want)
	}
	if c := b.Counters().Windows["idle"]; c.Evictions != 1 || c.Results != 2 {
		t.Fatalf("counts %+v, want 1 eviction and 2 results", c)
	}

	es := parseErrors(t, withBase(`windows:
  - name: seq
    type: sequence
    key: user
    steps: [event.track == 1, event.track == 2]
    within: 10m
    max_matches: 0
    max_pending: -3
  - name: nv
    type: new_value
    key: user
    field: track
    within: 1h
    max_matches: 5
`))
	want := []string{
		"job.yaml:7:18: windows[0].max_matches: want a positive number of matches",
		"job.yaml:8:18: windows[0].max_pending: want a positive number of events",
		`job.yaml:14:5: windows[1]: unknown field "max_matches" (want name, type, key, where, max_keys, field, within, max_pending, early)`,
	}
	if es.Error() != strings.Join(want, "\n") {
		t.Errorf("errors:\n%v\nwant:\n%s", es, strings.Join(want, "\n"))
	}
}

// max_ahead: 1h by default, 0s turns the guard off (the pipeline's
// negative), a negative value is refused, and a change needs a restart.
func TestMaxAhead(t *testing.T) {
	j := mustParse(t, withBase(""))
	if j.MaxAhead != time.Hour || j.StreamMaxAhead() != time.Hour {
		t.Fatalf("default max_ahead %v (%v)", j.MaxAhead, j.StreamMaxAhead())
	}
	off := mustParse(t, withBase("max_ahead: 0s\n"))
	if off.MaxAhead != 0 || off.StreamMaxAhead() >= 0 {
		t.Fatalf("max_ahead 0s: %v (%v), want the guard off", off.MaxAhead, off.StreamMaxAhead())
	}
	var printed strings.Builder
	if err := off.Print(&printed); err != nil || !strings.Contains(printed.String(), "max_ahead: 0s") {
		t.Fatalf("printed (%v):\n%s", err, printed.String())
	}
	if d := j.structureDiff(off); d != "max_ahead changed" {
		t.Fatalf("diff %q, want max_ahead", d)
	}
	es := parseErrors(t, withBase("max_ahead: -5m\n"))
	if !strings.Contains(es.Error(), "job.yaml:1:12: max_ahead") {
		t.Fatalf("errors: %v", es)
	}
}

// Sorting a bounded input pays for a history (lateness 1h or more) of a job
// that holds events until the watermark (here its dedup); -sort's values.
func TestSortMode(t *testing.T) {
	j := mustParse(t, withBase(""))
	if !j.SortPays(2*time.Hour) || j.SortPays(5*time.Minute) {
		t.Fatalf("SortPays: 2h %v, 5m %v", j.SortPays(2*time.Hour), j.SortPays(5*time.Minute))
	}
	noID := mustParse(t, strings.Replace(withBase(""), "  id: id\n", "", 1))
	if noID.SortPays(2400 * time.Hour) {
		t.Fatalf("a job holding nothing until the watermark (%s) does not sort", noID.Plan())
	}
	for mode, want := range map[string]bool{"on": true, "off": false, "auto": true} {
		if got, err := j.SortMode(mode, 2*time.Hour); err != nil || got != want {
			t.Fatalf("-sort %s: %v %v", mode, got, err)
		}
	}
	if _, err := j.SortMode("yes", time.Hour); err == nil || err.Error() != `-sort must be auto, on or off, not "yes"` {
		t.Fatalf("bad mode: %v", err)
	}
	if c := SortedPipeline(stream.Config{OutOfOrderness: time.Hour, MaxAhead: time.Hour}); c.OutOfOrderness != 0 || c.MaxAhead >= 0 {
		t.Fatalf("sorted pipeline config %+v", c)
	}
}
