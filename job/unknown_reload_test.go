package job

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
)

// A reload naming a target or a window that does not exist, by the paths
// the binaries take: a new job file (cmd/rulestream's job watcher parses
// it) and a rule file compiled in the running job's environment
// (musicstream's -rules). Both are refused with the rule, the file, the
// line and the column; the running rules stay live and go on firing. A
// file that declares the new target too needs a restart (the running
// targets cannot write it): refused the same way, never a "no route for
// target" at the first firing.
func TestReloadUnknownTargetOrWindow(t *testing.T) {
	j1 := mustParse(t, reloadSrc("v1", "1.0"))
	b := build(t, j1)
	ops, err := b.Operators(stream.PartitionID{})
	if err != nil {
		t.Fatal(err)
	}
	startOps(t, j1, ops...)
	fires := func(id int64) {
		t.Helper()
		at := t0.Add(time.Duration(id) * time.Second)
		got := process(t, ops, []stream.Event{play(j1, id, "u"+stream.Int(id).Text(), 7, at, 5)}, at)
		if !reflect.DeepEqual(targetsOf(got), []string{"big>out"}) || got[0].Get("rule_version").Text() != "v1" {
			t.Fatalf("play %d: emissions %q, want big>out by v1", id, targetsOf(got))
		}
	}
	fires(1)

	v2 := strings.Replace(reloadSrc("v1", "1.0"), "version: v1", "version: v2", 1)
	for i, c := range []struct {
		name, old, new, want string
	}{
		{"job: target", "    when: event.n > 1.0\n    target: out\n", "    when: event.n > 1.0\n    target: outz\n",
			`job.yaml:LINE:13: rules[big].target: unknown target "outz" (declared: out)`},
		{"job: window", "    window: w\n", "    window: nope\n",
			`job.yaml:LINE:13: rules[twice].window: unknown window "nope" (declared: spare, w)`},
	} {
		src := strings.Replace(v2, c.old, c.new, 1)
		if src == v2 {
			t.Fatalf("%s: %q not in the job", c.name, c.old)
		}
		_, err := Parse("job.yaml", []byte(src), Options{})
		var je *Error
		line := lineOf(src, strings.TrimSpace(strings.Split(c.new, "\n")[len(strings.Split(c.new, "\n"))-2]))
		if want := strings.Replace(c.want, "LINE", stream.Int(int64(line)).Text(), 1); !errors.As(err, &je) || err.Error() != want {
			t.Fatalf("%s: Parse:\n%v\nwant:\n%s", c.name, err, want)
		}
		if v := b.Master().Live().Version(); v != "v1" {
			t.Fatalf("%s: live %s", c.name, v)
		}
		fires(int64(2 + i))
	}

	// A rule file in the running job's environment (musicstream -rules).
	for i, c := range []struct{ name, extra, want string }{
		{"rules: target", "    target: outz\n", `rules.yaml:5:13: rule "big": target: unknown target "outz" (declared: out)`},
		{"rules: window", "    target: out\n    window: nope\n", `rules.yaml:6:13: rule "big": window: unknown window "nope" (declared: spare, w)`},
	} {
		_, err := j1.Env.Load("rules.yaml", []byte("version: r2\nrules:\n  - name: big\n    when: event.n > 100.0\n"+c.extra))
		var le *rules.LoadError
		if !errors.As(err, &le) || err.Error() != c.want {
			t.Fatalf("%s: Env.Load:\n%v\nwant:\n%s", c.name, err, c.want)
		}
		fires(int64(10 + i))
	}

	// The new target declared along: a restart is needed.
	src := strings.Replace(v2, "    when: event.n > 1.0\n    target: out\n", "    when: event.n > 1.0\n    target: more\n", 1) +
		"  - name: more\n    type: stream\n    key: \"more:{user}\"\n"
	err = b.Reload(mustParse(t, src))
	if !errors.Is(err, ErrRestartNeeded) || err.Error() != "job: the change needs a restart: targets changed" {
		t.Fatalf("Reload with a new target: %v, want ErrRestartNeeded (targets changed)", err)
	}
	if b.Master().Live() != j1.Rules {
		t.Fatal("the live set changed")
	}
	fires(20)
}

// lineOf returns the 1-based number of the first line of text holding s.
func lineOf(text, s string) int {
	for i, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return i + 1
		}
	}
	return 0
}
