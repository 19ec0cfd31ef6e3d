package job

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/stream"
)

// reloadJob is the running job of the reload tests: a per-event rule, a
// window read by a rule and one read by none, a lookup read by none.
// RULES is replaced by the rules under test.
const reloadJob = `name: reload
version: VERSION
lookups:
  - name: customer
    key: "customer:{user}"
    fields: {level: int}
windows:
  - name: w
    type: count_within
    key: user
    count: 2
    within: 10m
  - name: spare
    type: tumbling
    key: user
    size: 1h
rules:
  - name: big
    when: event.n > THRESHOLD
    target: out
  - name: twice
    window: w
    when: window.count >= 2
    target: out
`

func reloadSrc(version, threshold string) string {
	return withBase(strings.NewReplacer("VERSION", version, "THRESHOLD", threshold).Replace(reloadJob))
}

// TestReloadSwapsRules: when only the rules change, Reload makes them live
// in the engines of partitions built before it.
func TestReloadSwapsRules(t *testing.T) {
	j1 := mustParse(t, reloadSrc("v1", "1.0"))
	b := build(t, j1)
	ops, err := b.Operators(stream.PartitionID{})
	if err != nil {
		t.Fatal(err)
	}
	startOps(t, j1, ops...)

	got := process(t, ops, []stream.Event{play(j1, 1, "ann", 7, t0, 5)}, t0)
	if want := []string{"big>out"}; !reflect.DeepEqual(targetsOf(got), want) {
		t.Fatalf("before reload: emissions %q, want %q", targetsOf(got), want)
	}

	j2 := mustParse(t, reloadSrc("v2", "100.0"))
	if err := b.Reload(j2); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if v := b.Master().Live().Version(); v != "v2" {
		t.Errorf("master's live version %q, want v2", v)
	}
	if live := b.Master().Live(); !reflect.DeepEqual(live.Rules(), j2.Rules.Rules()) || live.Env() != j1.Env {
		t.Errorf("master's live set is not the new job's rules, in the running environment")
	}

	// The partition built before the reload evaluates the new rules.
	got = process(t, ops, []stream.Event{play(j1, 2, "bob", 7, t0.Add(1e9), 5), play(j1, 3, "cat", 7, t0.Add(2e9), 500)}, t0.Add(2e9))
	if want := []string{"big>out"}; !reflect.DeepEqual(targetsOf(got), want) {
		t.Fatalf("after reload: emissions %q, want %q", targetsOf(got), want)
	}
	if v := got[0].Get("rule_version").Text(); v != "v2" {
		t.Errorf("rule_version %q, want v2", v)
	}
	if u := got[0].Get("user").Text(); u != "cat" {
		t.Errorf("fired on %q, want cat (n=500)", u)
	}

	// A partition built after the reload runs the new rules too.
	ops2, err := b.Operators(stream.PartitionID{Partition: 1})
	if err != nil {
		t.Fatal(err)
	}
	startOps(t, j1, ops2...)
	got = process(t, ops2, []stream.Event{play(j1, 4, "dan", 7, t0, 5)}, t0)
	if len(got) != 0 {
		t.Errorf("new partition: emissions %q, want none", targetsOf(got))
	}

	c := b.Counters()
	if c.Firings["big"] != 2 {
		t.Errorf("Counters().Firings = %v, want big=2", c.Firings)
	}
}

// TestReloadSameVersionIsNoop: a job whose rules are the live ones is not
// swapped in; one whose rules changed under the same explicit version: is
// refused (emissions would carry a version that names two rule sets).
func TestReloadSameVersionIsNoop(t *testing.T) {
	j1 := mustParse(t, reloadSrc("v1", "1.0"))
	b := build(t, j1)
	if err := b.Reload(mustParse(t, reloadSrc("v1", "1.0"))); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if b.Master().Live() != j1.Rules {
		t.Errorf("same rules: the live set was swapped")
	}
	err := b.Reload(mustParse(t, reloadSrc("v1", "3.0")))
	if err == nil || !strings.Contains(err.Error(), "the rules changed but their version did not (v1)") || errors.Is(err, ErrRestartNeeded) {
		t.Fatalf("changed rules, same version: %v", err)
	}
	if b.Master().Live() != j1.Rules {
		t.Errorf("same version, changed rules: the live set was swapped")
	}

	// Without version:, the version is a hash of the rules: an identical
	// job is a no-op, a changed one is swapped in.
	noVersion := func(th string) string { return strings.Replace(reloadSrc("x", th), "version: x\n", "", 1) }
	j3 := mustParse(t, noVersion("1.0"))
	b = build(t, j3)
	if err := b.Reload(mustParse(t, noVersion("1.0"))); err != nil {
		t.Fatal(err)
	}
	if b.Master().Live() != j3.Rules {
		t.Errorf("identical job: the live set was swapped")
	}
	j4 := mustParse(t, noVersion("2.0"))
	if err := b.Reload(j4); err != nil {
		t.Fatal(err)
	}
	if b.Master().Live().Version() != j4.Rules.Version() || j4.Rules.Version() == j3.Rules.Version() {
		t.Errorf("changed rules without version: not swapped (versions %s, %s)", j3.Rules.Version(), j4.Rules.Version())
	}
}

// TestReloadRestartNeeded: a change beyond the rules is refused with
// ErrRestartNeeded saying what changed, and the running rules stay.
func TestReloadRestartNeeded(t *testing.T) {
	base := reloadSrc("v1", "1.0")
	for _, tc := range []struct {
		name, old, new string
		want           string
	}{
		{"name", "name: reload\n", "name: other\n", "name changed"},
		{"input", "  id: id\n", "", "input changed"},
		{"input time format", "    ts: time\n", "    ts: {type: time, format: unix_ms}\n", "input changed"},
		{"lateness", "version: v1\n", "version: v1\nlateness: 1m\n", "lateness changed"},
		{"lookups", "fields: {level: int}", "fields: {level: int, plan: string}", "lookups changed"},
		{"windows", "    count: 2\n", "    count: 3\n", "windows changed"},
		{"targets", `key: "q:{user}"`, `key: "queue:{user}"`, "targets changed"},
		{"windows and targets", "    count: 2\n", "    count: 3\n", "windows, targets changed"},
		{"a rule reading an unbuilt window", "  - name: twice\n", "  - name: hourly\n    window: spare\n    when: window.count > 5\n    target: out\n  - name: twice\n",
			"the rules need other operators (dedup → [w | spare | events] → rules, running dedup → [w | events] → rules)"},
		{"a rule with a cooldown needs the order", "    target: out\n  - name: twice\n", "    target: out\n    cooldown: 1h\n  - name: twice\n",
			"the rules need other operators (dedup → [w | order] → rules, running dedup → [w | events] → rules)"},
		{"a rule reading an unbuilt lookup", "event.n > 1.0", "event.n > 1.0 && customer.level < 2",
			"the rules need other operators (dedup → customer → [w | events] → rules, running dedup → [w | events] → rules)"},
		{"no rule reads a built window any more", "    window: w\n", "    window: w\n    enabled: false\n",
			"the rules need other operators (dedup → rules, running dedup → [w | events] → rules)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j1 := mustParse(t, base)
			b := build(t, j1)
			src := strings.Replace(strings.Replace(base, tc.old, tc.new, 1), "version: v1", "version: v2", 1)
			if tc.name == "windows and targets" {
				src = strings.Replace(src, "    type: stream\n", "    type: list\n", 1)
			}
			if src == strings.Replace(base, "version: v1", "version: v2", 1) {
				t.Fatalf("%q not in the job", tc.old)
			}
			err := b.Reload(mustParse(t, src))
			if !errors.Is(err, ErrRestartNeeded) {
				t.Fatalf("Reload: %v, want ErrRestartNeeded", err)
			}
			if want := "job: the change needs a restart: " + tc.want; err.Error() != want {
				t.Errorf("Reload:\n%v\nwant:\n%s", err, want)
			}
			if b.Master().Live() != j1.Rules {
				t.Errorf("the live set changed")
			}
		})
	}
}

// TestReloadWithBuildLookups: a lookup built for BuildConfig.Lookups (a
// Tap reading it) is no change of the job: reloading the same job with new
// rules must not ask for a restart.
func TestReloadWithBuildLookups(t *testing.T) {
	j1 := mustParse(t, reloadSrc("v1", "1.0"))
	b, err := j1.Build(BuildConfig{Redis: deadRedis(t), Lookups: []string{"customer"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(mustParse(t, reloadSrc("v2", "2.0"))); err != nil {
		t.Errorf("Reload: %v", err)
	}
}

func TestBuildConfigLookups(t *testing.T) {
	j := mustParse(t, reloadSrc("v1", "1.0"))
	b, err := j.Build(BuildConfig{Redis: deadRedis(t), Lookups: []string{"customer"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Plan().Lookups; !reflect.DeepEqual(got, []string{"customer"}) {
		t.Errorf("built lookups %q, want customer", got)
	}
	if _, err := j.Build(BuildConfig{Redis: deadRedis(t), Lookups: []string{"nope"}}); err == nil || err.Error() != `job: BuildConfig.Lookups: no lookup "nope"` {
		t.Errorf("Build with an unknown lookup: %v", err)
	}
	if _, err := j.Build(BuildConfig{}); err == nil || err.Error() != "job: Build needs a Redis client" {
		t.Errorf("Build without Redis: %v", err)
	}
}

func TestWithRules(t *testing.T) {
	j := mustParse(t, reloadSrc("v1", "1.0"))
	other := mustParse(t, reloadSrc("v2", "2.0"))
	if _, err := j.WithRules(other.Rules); err == nil || err.Error() != "job: WithRules: the rules were not compiled in the job's environment (Job.Env)" {
		t.Errorf("WithRules(a set of another Env): %v", err)
	}

	set, err := j.Env.Load("rules.yaml", []byte("version: file-1\nrules:\n  - name: small\n    when: event.n < 1.0\n    target: out\n"))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := j.WithRules(set)
	if err != nil {
		t.Fatalf("WithRules: %v", err)
	}
	if cp.Rules != set || j.Rules == set || j.Rules.Version() != "v1" {
		t.Errorf("WithRules: the copy runs %s, the job %s", cp.Rules.Version(), j.Rules.Version())
	}
	if got := cp.Plan().String(); got != "dedup → rules" {
		t.Errorf("the copy's plan %q, want dedup → rules", got)
	}

	// The job's targets are checked against the new set's emissions: a
	// time window's results have only its key fields.
	j = mustParse(t, withBase("windows:\n  - name: hourly\n    type: tumbling\n    key: track\n    size: 1h\n"))
	set, err = j.Env.Load("rules.yaml", []byte("rules:\n  - name: per_track\n    window: hourly\n    when: window.count > 1\n    target: out\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = j.WithRules(set)
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("WithRules: %v, want Errors", err)
	}
	if want := `job.yaml:25:10: targets[0].key: rule per_track has no field "user" (it has track, rule, rule_version, at)`; err.Error() != want {
		t.Errorf("WithRules:\n%v\nwant:\n%s", err, want)
	}
}

// TestBuildDoesNotConnect: Build and Operators need no reachable Redis.
func TestBuildDoesNotConnect(t *testing.T) {
	j := mustParse(t, reloadSrc("v1", "1.0"))
	var rdb redis.UniversalClient = deadRedis(t)
	b, err := j.Build(BuildConfig{Redis: rdb, Lookups: []string{"customer"}})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := b.Operators(stream.PartitionID{})
	if err != nil {
		t.Fatal(err)
	}
	// dedup, the lookup, the window beside the events, the engine.
	if len(ops) != 4 {
		t.Errorf("%d operators, want 4: %#v", len(ops), ops)
	}
	if b.HasDeadLetter() {
		t.Errorf("HasDeadLetter without a deadletter target")
	}
	if b.LateSink(func() int64 { return 0 }) != nil {
		t.Errorf("LateSink without a late target")
	}
}

// TestReloadConcurrent: reloads, new partitions and counters while a
// partition processes: each batch is evaluated by one rule set (its
// emissions carry one rule_version), and the race detector finds nothing.
func TestReloadConcurrent(t *testing.T) {
	j1 := mustParse(t, reloadSrc("v0", "1.0"))
	b := build(t, j1)
	ops, err := b.Operators(stream.PartitionID{})
	if err != nil {
		t.Fatal(err)
	}
	startOps(t, j1, ops...)
	next := make([]*Job, 20)
	for i := range next {
		next[i] = mustParse(t, reloadSrc("v"+string(rune('a'+i)), "1.0"))
	}

	const batches = 100
	done := make(chan []string)
	go func() {
		var mixed []string
		id := int64(0)
		for k := range batches {
			var in []stream.Event
			for range 3 {
				id++
				in = append(in, play(j1, id, "u"+string(rune('a'+id%7)), 7, t0.Add(time.Duration(id)*time.Second), 5))
			}
			got, err := tryProcess(ops, in, t0.Add(time.Duration(id)*time.Second))
			if err != nil {
				mixed = append(mixed, fmt.Sprintf("batch %d: %v", k, err))
				continue
			}
			versions, big := map[string]bool{}, 0
			for _, ev := range got {
				versions[ev.Get("rule_version").Text()] = true
				if ev.Get("rule").Text() == "big" {
					big++
				}
			}
			if big != 3 || len(versions) != 1 {
				mixed = append(mixed, fmt.Sprintf("batch %d: %d emissions of big, versions %v", k, big, versions))
			}
		}
		done <- mixed
	}()
	for i, n := range next {
		if err := b.Reload(n); err != nil {
			t.Errorf("Reload %d: %v", i, err)
		}
		if _, err := b.Operators(stream.PartitionID{Partition: int32(i + 1)}); err != nil {
			t.Errorf("Operators: %v", err)
		}
		_ = b.Counters()
	}
	if mixed := <-done; len(mixed) > 0 {
		t.Errorf("batches not evaluated by one set:\n%s", strings.Join(mixed, "\n"))
	}
	if v := b.Master().Live().Version(); v != "vt" {
		t.Errorf("live version %q after the last reload, want vt", v)
	}
	if c := b.Counters(); c.Firings["big"] != 3*batches {
		t.Errorf("firings %v, want big=%d", c.Firings, 3*batches)
	}
}

// A reloaded job's rules are compiled in the running job's environment, so
// that the engines keep reading fields by position (the events carry the
// running job's schema).
func TestReloadKeepsTheRunningEnv(t *testing.T) {
	j1 := mustParse(t, reloadSrc("v1", "1.0"))
	b := build(t, j1)
	if err := b.Reload(mustParse(t, reloadSrc("v2", "3.0"))); err != nil {
		t.Fatal(err)
	}
	if live := b.Master().Live(); live.Version() != "v2" || live.Env() != j1.Env {
		t.Fatalf("live set %s compiled in another environment", live.Version())
	}
}
