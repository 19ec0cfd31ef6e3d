package rules

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

const liveRules = "version: v1\nrules:\n  - name: ad\n    when: customer.level < 2\n    target: ads\n"

// unknownRules is a rule file whose second rule, typo, ends with extra: a
// target or a window that does not exist.
func unknownRules(extra string) []byte {
	return []byte("version: v2\nrules:\n  - name: ad\n    when: customer.level < 2\n    target: ads\n" +
		"  - name: typo\n    when: \"true\"\n" + extra)
}

// A rule naming a target or a window that does not exist is refused when
// a set is loaded and when it is reloaded (Engine.Reload, and FileWatcher
// on a file saved by rename, as editors do): the error names the file, the line and
// column, the rule and the field; the live set stays and goes on firing.
// (Such a rule loaded, then stopped the pipeline on its first firing with
// "no route for target"; an unknown window never fired.)
func TestUnknownTargetOrWindowRefused(t *testing.T) {
	env, err := NewEnv(EnvConfig{EventSchema: gen.PlaySchema, Joins: demoJoins(), Windows: demoWindows(), Targets: []string{"ads", "interest"}})
	if err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		name string
		src  []byte
		want string
	}{
		{"target", unknownRules("    target: adz\n"), `rules.yaml:8:13: rule "typo": target: unknown target "adz" (declared: ads, interest)`},
		{"window", unknownRules("    target: ads\n    window: nope\n"), `rules.yaml:9:13: rule "typo": window: unknown window "nope" (declared: repeats, w)`},
	}
	for _, c := range bad {
		_, err := env.Load("rules.yaml", c.src)
		var le *LoadError
		if !errors.As(err, &le) || err.Error() != c.want {
			t.Fatalf("%s: Load: %v, want %s", c.name, err, c.want)
		}
	}

	set, err := env.Load("rules.yaml", []byte(liveRules))
	if err != nil {
		t.Fatal(err)
	}
	en, err := NewEngine(set, EngineConfig{IDField: "event_id"})
	if err != nil {
		t.Fatal(err)
	}
	fires := func(id int64) {
		t.Helper()
		out := process(t, en, enriched(id, 7, 3, time.Duration(id)*48*time.Hour, customer(7, 1, 1, stream.Int(0))))
		if got := targets(out); got != "ads/ad:7:"+stream.Int(id).Text() {
			t.Fatalf("play %d: %q, want the live set's ad", id, got)
		}
		if v := out[0].Get("rule_version").Str(); v != "v1" {
			t.Fatalf("play %d fired by %s, want v1", id, v)
		}
	}
	fires(1)
	for i, c := range bad {
		if err := en.Reload("rules.yaml", c.src); err == nil || err.Error() != c.want {
			t.Fatalf("%s: Reload: %v, want %s", c.name, err, c.want)
		}
		if v := en.Live().Version(); v != "v1" {
			t.Fatalf("%s: live %s after a refused reload", c.name, v)
		}
		fires(int64(2 + i))
	}

	// The same through a FileWatcher.
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(liveRules), 0o644); err != nil {
		t.Fatal(err)
	}
	res := make(reloads, 16)
	fw, err := NewFileWatcher(en, path, res.cfg())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fw.Run(ctx) }()
	res.waitFor(t, ctx, "the initial load", func(r reloadResult) bool { return r.err == nil && r.version == "v1" })
	for i, c := range bad {
		tmp := path + ".tmp" // as editors save: a write in place may be read half done
		if err := os.WriteFile(tmp, c.src, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(filepath.Dir(path), c.want)
		r := res.waitFor(t, ctx, want, func(r reloadResult) bool { return r.err != nil && r.err.Error() == want })
		if r.version != "v1" {
			t.Fatalf("%s: OnReload(%s, %v), want the live v1", c.name, r.version, r.err)
		}
		fires(int64(10 + i))
	}
	cancel()
	<-done
}
