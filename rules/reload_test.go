package rules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

func versionedYAML(v string) []byte {
	return []byte("version: " + v + "\nrules:\n  - name: all\n    when: 'true'\n    target: t\n  - name: also\n    when: event.track_id >= 0\n    target: u\n")
}

// TestReloadUnderLoad swaps rule sets continuously while a pipeline runs:
// every event is evaluated exactly once, by exactly one set.
func TestReloadUnderLoad(t *testing.T) {
	const batches, per = 200, 50
	set, err := testEnv().Load("a.yaml", versionedYAML("v0"))
	if err != nil {
		t.Fatal(err)
	}
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	src := stream.NewChanSource("plays")
	sink := stream.NewCollectSink()
	p := stream.New("reload", stream.Config{}).From(src).Via(en).To(sink)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	// A concurrent reloader, plus a synchronous reload after every batch.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			if err := en.Reload("bg.yaml", versionedYAML("bg"+strconv.Itoa(i%7))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for b := 0; b < batches; b++ {
		evs := make([]stream.Event, per)
		for i := range evs {
			id := int64(b*per + i)
			evs[i] = play(id, id%97, id%13, time.Duration(id)*time.Second)
		}
		select {
		case src.C <- stream.Batch{Events: evs}:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		if err := en.Reload("fg.yaml", versionedYAML("fg"+strconv.Itoa(b))); err != nil {
			t.Fatal(err)
		}
	}
	close(src.C)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()

	n := batches * per
	out := sink.Events()
	if len(out) != 2*n {
		t.Fatalf("%d emissions, want %d", len(out), 2*n)
	}
	version := map[int64]string{}
	seen := map[string]bool{}
	for _, e := range out {
		if seen[e.ID] {
			t.Fatalf("%s emitted twice", e.ID)
		}
		seen[e.ID] = true
		id, v := e.Get("event_id").Int(), e.Get("rule_version").Str()
		if w, ok := version[id]; ok && w != v {
			t.Fatalf("event %d evaluated by two sets: %s and %s", id, w, v)
		}
		version[id] = v
	}
	if len(version) != n {
		t.Fatalf("%d events evaluated, want %d", len(version), n)
	}
	if st := en.Stats(); st.Reloads < batches || st.Rule("all").Firings != int64(n) || st.Rule("all").Evaluations != int64(n) {
		t.Fatalf("stats %+v", st)
	}
}

func TestReloadRejectsInvalidSet(t *testing.T) {
	logs := &logRecorder{}
	set, _ := testEnv().Load("a.yaml", versionedYAML("v1"))
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id", Logger: slogNew(logs)})
	err := en.Reload("b.yaml", []byte("rules:\n  - name: x\n    when: customer.nope\n    target: t\n"))
	if err == nil {
		t.Fatal("invalid set accepted")
	}
	if en.Live().Version() != "v1" || en.Stats().Rejected != 1 || logs.count("rules rejected; keeping the live set") != 1 {
		t.Fatalf("live %s stats %+v logs %v", en.Live().Version(), en.Stats(), logs.msgs)
	}
	if err := en.Reload("a.yaml", versionedYAML("v2")); err != nil {
		t.Fatal(err)
	}
	if en.Live().Version() != "v2" || en.Stats().Reloads != 1 || logs.count("rules live version=v2") != 1 {
		t.Fatalf("live %s stats %+v logs %v", en.Live().Version(), en.Stats(), logs.msgs)
	}
	// The same version again is not swapped.
	if err := en.Reload("a.yaml", versionedYAML("v2")); err != nil || en.Stats().Reloads != 1 {
		t.Fatalf("same version reloaded: %v %+v", err, en.Stats())
	}
}

// reloads collects OnReload callbacks.
type reloads chan reloadResult

type reloadResult struct {
	version string
	err     error
}

func (r reloads) cfg() WatchConfig {
	return WatchConfig{OnReload: func(v string, err error) { r <- reloadResult{v, err} }}
}

// waitFor waits until a callback satisfies ok.
func (r reloads) waitFor(t *testing.T, ctx context.Context, what string, ok func(reloadResult) bool) reloadResult {
	t.Helper()
	for {
		select {
		case res := <-r:
			if ok(res) {
				return res
			}
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
	}
}

func TestFileWatcher(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(path, versionedYAML("f1"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := testEnv().LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	res := make(reloads, 64)
	fw, err := NewFileWatcher(en, path, res.cfg())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fw.Run(ctx) }()
	res.waitFor(t, ctx, "initial load", func(r reloadResult) bool { return r.version == "f1" })

	if err := os.WriteFile(path, versionedYAML("f2"), 0o644); err != nil {
		t.Fatal(err)
	}
	res.waitFor(t, ctx, "f2", func(r reloadResult) bool { return r.err == nil && r.version == "f2" })

	if err := os.WriteFile(path, []byte("rules:\n  - name: x\n    when: 1 +\n    target: t\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := res.waitFor(t, ctx, "rejection", func(r reloadResult) bool { return r.err != nil })
	if bad.version != "f2" || en.Live().Version() != "f2" {
		t.Fatalf("invalid file replaced the live set: %+v", bad)
	}
	// An editor-style save: write a new file, rename it over the old one.
	tmp := filepath.Join(dir, ".rules.yaml.tmp")
	if err := os.WriteFile(tmp, versionedYAML("f3"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	res.waitFor(t, ctx, "f3", func(r reloadResult) bool { return r.err == nil && r.version == "f3" })
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
	if st := en.Stats(); st.Rejected < 1 || st.Reloads < 2 {
		t.Fatalf("stats %+v", st)
	}
}

func init() { _ = fmt.Sprint }

func TestReloadReusesUnchangedRules(t *testing.T) {
	set, _ := testEnv().Load("a.yaml", versionedYAML("v1"))
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	changed := []byte("version: v2\nrules:\n  - name: all\n    when: 'true'\n    target: t\n  - name: also\n    when: event.track_id >= 1\n    target: u\n")
	if err := en.Reload("a.yaml", changed); err != nil {
		t.Fatal(err)
	}
	live := en.Live()
	if live.rules[0].cond != set.rules[0].cond {
		t.Error("unchanged rule recompiled")
	}
	if live.rules[1].cond == set.rules[1].cond || live.rules[1].When != "event.track_id >= 1" {
		t.Error("changed rule not recompiled")
	}
	out := process(t, en, play(1, 7, 0, 0))
	if targets(out) != "t/all:7:1" {
		t.Fatalf("got %s", targets(out))
	}
}
