package job

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// printed returns what Print writes for src, parsed back as YAML.
func printed(t *testing.T, src string) (map[string]any, string) {
	t.Helper()
	j := mustParse(t, src)
	var buf bytes.Buffer
	if err := j.Print(&buf); err != nil {
		t.Fatalf("Print: %v", err)
	}
	var out map[string]any
	if err := yaml.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatalf("Print's output is not YAML: %v\n%s", err, buf.String())
	}
	return out, buf.String()
}

// at walks a parsed YAML document: keys of mappings, indexes of lists.
func at(t *testing.T, doc any, path ...any) any {
	t.Helper()
	v := doc
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not a mapping at %q: %#v", path, p, v)
			}
			if v, ok = m[p]; !ok {
				t.Fatalf("%v: no key %q in %v", path, p, m)
			}
		case int:
			l, ok := v.([]any)
			if !ok || p >= len(l) {
				t.Fatalf("%v: no item %d in %#v", path, p, v)
			}
			v = l[p]
		}
	}
	return v
}

func TestPrintStatesDefaults(t *testing.T) {
	doc, text := printed(t, withBase(`lookups:
  - name: customer
    key: "customer:{user}"
    fields: {level: int, since: {type: time, format: unix_ms}}
  - name: track
    key: "track:{track}"
    fields: {length: int}
    unknown: drop
    cache: {entries: 500, ttl: 1m}
rules:
  - name: big
    when: customer.level > 1
    target: out
  - name: off
    when: "true"
    target: z
    cooldown: 24h
    enabled: false
targets:
  - name: out
    type: stream
    key: q
  - name: z
    type: sorted_set
    key: z
    member: user
`))
	for _, tc := range []struct {
		path []any
		want any
	}{
		{[]any{"name"}, "job"},
		{[]any{"lateness"}, "5m0s"},
		{[]any{"input", "format"}, "csv"},
		{[]any{"input", "header"}, false},
		{[]any{"input", "strict"}, false},
		{[]any{"input", "path"}, "plays.csv"},
		{[]any{"input", "columns"}, []any{"id", "user", "track", "ts", "n"}},
		{[]any{"input", "time"}, "ts"},
		{[]any{"input", "id"}, "id"},
		{[]any{"input", "key"}, []any{"user"}},
		{[]any{"input", "fields", "ts"}, map[string]any{"type": "time", "format": "datetime"}},
		{[]any{"input", "fields", "n"}, map[string]any{"type": "float"}},
		{[]any{"lookups", 0, "unknown"}, "pass"},
		{[]any{"lookups", 0, "cache"}, map[string]any{"entries": 1048576, "ttl": "5m"}},
		{[]any{"lookups", 0, "fields", "since"}, map[string]any{"type": "time", "format": "unix_ms"}},
		{[]any{"lookups", 1, "unknown"}, "drop"},
		{[]any{"lookups", 1, "cache"}, map[string]any{"entries": 500, "ttl": "1m0s"}},
		{[]any{"rules", 0}, map[string]any{"name": "big", "when": "customer.level > 1", "target": "out", "enabled": true}},
		{[]any{"rules", 1}, map[string]any{"name": "off", "when": "true", "target": "z", "enabled": false, "cooldown": "24h0m0s"}},
		{[]any{"targets", 0, "writes"}, []any{map[string]any{"type": "stream", "key": "q", "fields": "all"}}},
		{[]any{"targets", 1, "writes", 0}, map[string]any{"type": "sorted_set", "key": "z", "member": "user", "nx": false, "lt": false, "score": "the event time (unix ms)"}},
		{[]any{"plan", "chain"}, "dedup → customer → track → rules"},
		{[]any{"plan", "unused"}, []any{}}, // track drops unknown tracks: it runs though no rule reads it
	} {
		if got := at(t, doc, tc.path...); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v = %#v, want %#v", tc.path, got, tc.want)
		}
	}
	if v := at(t, doc, "version"); v == "" || v == nil {
		t.Errorf("no version (a hash of the rules): %v", v)
	}
	if !strings.HasPrefix(text, "name: job\n") {
		t.Errorf("Print starts %q", text[:min(len(text), 20)])
	}
}

func TestPrintWindowsAndKafka(t *testing.T) {
	doc, _ := printed(t, withBase(`input:
  kafka: {brokers: [k1:9092, k2:9092], topic: plays, group: g}
  format: json
  fields:
    user: string
    n: float
    ts: {type: time, format: "02/01/2006 15:04"}
  time: ts
lateness: 1h
windows:
  - name: c
    type: count_within
    key: user
    count: 3
    within: 30m
  - name: t
    type: tumbling
    key: user
    size: 1h
    aggregates: {plays: count, total: sum(n)}
  - name: s
    type: sliding
    key: user
    size: 1h
    slide: 10m
    offset: 5m
    where: event.n > 0.0
  - name: g
    type: session
    key: user
    gap: 15m
rules:
  - name: r
    window: t
    when: window.aggregates.plays > 2
    target: out
`))
	for _, tc := range []struct {
		path []any
		want any
	}{
		{[]any{"lateness"}, "1h0m0s"},
		{[]any{"input", "kafka"}, map[string]any{"brokers": []any{"k1:9092", "k2:9092"}, "topic": "plays", "group": "g", "offset": "oldest"}},
		{[]any{"input", "fields", "ts"}, map[string]any{"type": "time", "format": "02/01/2006 15:04"}},
		{[]any{"windows", 0}, map[string]any{"name": "c", "type": "count_within", "key": []any{"user"}, "count": 3, "within": "30m0s", "max_keys": 4194304, "max_pending": 4194304}},
		{[]any{"windows", 1}, map[string]any{"name": "t", "type": "tumbling", "key": []any{"user"}, "size": "1h0m0s", "offset": "0s",
			"aggregates": map[string]any{"plays": "count() -> int", "total": "sum(n) -> float"}, "max_keys": 4194304}},
		{[]any{"windows", 2}, map[string]any{"name": "s", "type": "sliding", "key": []any{"user"}, "size": "1h0m0s", "slide": "10m0s", "offset": "5m0s", "where": "event.n > 0.0", "max_keys": 4194304}},
		{[]any{"windows", 3}, map[string]any{"name": "g", "type": "session", "key": []any{"user"}, "gap": "15m0s", "max_keys": 4194304}},
		{[]any{"plan", "chain"}, "[t] → rules"},
		{[]any{"plan", "unused"}, []any{"window c: no enabled rule reads it", "window s: no enabled rule reads it", "window g: no enabled rule reads it"}},
	} {
		if got := at(t, doc, tc.path...); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%v = %#v, want %#v", tc.path, got, tc.want)
		}
	}
	in := at(t, doc, "input").(map[string]any)
	for _, k := range []string{"path", "header", "columns", "id", "key"} {
		if _, ok := in[k]; ok {
			t.Errorf("a json Kafka input without id or key prints %s: %v", k, in[k])
		}
	}
}

// TestPrintMusicstream: the musicstream job prints as YAML stating its
// version and plan.
func TestPrintMusicstream(t *testing.T) {
	j, err := Load("../examples/musicstream/job.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := j.Print(&buf); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not YAML: %v", err)
	}
	if v := at(t, doc, "version"); v != j.Rules.Version() {
		t.Errorf("version %v, want %s", v, j.Rules.Version())
	}
	for i, l := range j.Lookups {
		want := l.CacheEntries
		if want == 0 {
			want = 1 << 20
		}
		if c := at(t, doc, "lookups", i, "cache", "entries"); c != want {
			t.Errorf("lookup %s: cache entries %v, want %d", l.Name, c, want)
		}
	}
	if c := at(t, doc, "plan", "chain"); c != j.Plan().String() {
		t.Errorf("plan chain %v, want %s", c, j.Plan())
	}
}
