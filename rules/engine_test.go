package rules

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

func demoEngine(t *testing.T, cfg EngineConfig) *Engine {
	t.Helper()
	set, err := loadDemo()
	if err != nil {
		t.Fatal(err)
	}
	en, err := NewEngine(set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return en
}

func process(t *testing.T, en *Engine, evs ...stream.Event) []stream.Event {
	t.Helper()
	var out stream.Emitter
	if err := en.Process(context.Background(), evs, &out); err != nil {
		t.Fatal(err)
	}
	return append([]stream.Event(nil), out.Events()...)
}

func targets(evs []stream.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Target+"/"+e.ID)
	}
	return strings.Join(s, " ")
}

func TestDemoRules(t *testing.T) {
	en := demoEngine(t, EngineConfig{IDField: "event_id"})
	silver := customer(7, 1, 1, stream.Int(1))
	gold := customer(8, 2, 1, stream.Int(1))
	closed := customer(9, 0, 0, stream.Int(1))
	noPred := customer(10, 0, 1, stream.Null())
	unknown := play(5, 11, 3, 0)
	unknown.SetJoin("customer", nil)
	for _, tc := range []struct {
		name string
		ev   stream.Event
		want string
	}{
		{"silver active", enriched(1, 7, 3, 0, silver), "ads/upgrade_ad:7:1 sms/sms_offer:7:1"},
		{"gold", enriched(2, 8, 3, 0, gold), ""},
		{"closed", enriched(3, 9, 3, 0, closed), ""},
		{"no prediction: upgrade_ad only", enriched(4, 10, 3, 0, noPred), "ads/upgrade_ad:10:4"},
		{"unknown customer", unknown, ""},
		{"not enriched", play(6, 12, 3, 0), ""},
		{"window result", windowResult("repeats", 7, 3, 3, 0, 20*time.Minute), "interest/interest:7:103"},
		{"window result below 3", windowResult("repeats", 7, 3, 2, 0, 20*time.Minute), ""},
		{"other window", windowResult("other", 7, 3, 5, 0, 20*time.Minute), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := targets(process(t, en, tc.ev)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	st := en.Stats()
	if r := st.Rule("upgrade_ad"); r.Skipped != 2 || r.Errors != 0 || r.Firings != 2 {
		t.Fatalf("upgrade_ad stats %+v: want 2 skipped (unknown, not enriched), 2 firings, no errors", r)
	}
	if r := st.Rule("sms_offer"); r.Errors != 0 || r.Firings != 1 {
		t.Fatalf("sms_offer stats %+v", r)
	}
	if r := st.Rule("interest"); r.Evaluations != 2 || r.Firings != 1 {
		t.Fatalf("interest stats %+v", r)
	}
}

func TestEmissionPayload(t *testing.T) {
	en := demoEngine(t, EngineConfig{IDField: "event_id"})
	ev := enriched(42, 7, 3, 90*time.Second, customer(7, 1, 1, stream.Int(1)))
	ev.Pos = stream.Position{Source: "plays.csv", Offset: 9, Line: true}
	out := process(t, en, ev)
	if len(out) != 2 {
		t.Fatalf("%d emissions", len(out))
	}
	ad, sms := out[0], out[1]
	if ad.Key != "7" || ad.Time != ev.Time || ad.Target != "ads" || ad.ID != "upgrade_ad:7:42" || ad.Pos != ev.Pos {
		t.Fatalf("ad %+v", ad)
	}
	want := map[string]string{"customer_id": "7", "track_id": "3", "event_id": "42", "rule": "upgrade_ad",
		"rule_version": "demo-1", "at": stream.Int(ev.Time / 1e6).Text()}
	for k, v := range want {
		if got := fieldText(ad, k); got != v {
			t.Errorf("ad %s = %q, want %q", k, got, v)
		}
	}
	if ad.Schema.Len() != 9 || ad.Schema.Field(1).Kind != stream.KindInt || ad.Schema.Field(8).Name != "at" || ad.Schema.Field(8).Kind != stream.KindInt {
		t.Errorf("ad schema %v", ad.Schema.Fields())
	}
	if rec, ok := ad.Joined("customer"); !ok || rec.Get("name").Str() != "Cust 7" {
		t.Error("joins not kept")
	}
	if fieldText(sms, "name") != "Cust 7" || fieldText(sms, "offer_id") != "gold-upgrade" || fieldText(sms, "rule") != "sms_offer" {
		t.Errorf("sms fields %v", sms.Fields)
	}
}

func fieldText(ev stream.Event, name string) string { return ev.Get(name).Text() }

func TestCooldownEventTime(t *testing.T) {
	en := demoEngine(t, EngineConfig{IDField: "event_id"})
	c := customer(7, 1, 1, stream.Null())
	var got []string
	for i, at := range []time.Duration{0, time.Hour, 23*time.Hour + 59*time.Minute, 24 * time.Hour, 30 * time.Hour, 48 * time.Hour} {
		for _, e := range process(t, en, enriched(int64(i), 7, 3, at, c)) {
			got = append(got, e.ID)
		}
	}
	want := "upgrade_ad:7:0 upgrade_ad:7:3 upgrade_ad:7:5"
	if strings.Join(got, " ") != want {
		t.Fatalf("got %v, want %s", got, want)
	}
	// Another key is independent.
	if out := process(t, en, enriched(9, 8, 3, 48*time.Hour+time.Minute, customer(8, 1, 1, stream.Null()))); len(out) != 1 {
		t.Fatalf("key 8: %d emissions", len(out))
	}
	if s := en.Stats(); s.Rule("upgrade_ad").Suppressed != 3 || s.Cooldowns != 2 {
		t.Fatalf("stats %+v", s)
	}
	// Entries expire once the watermark passes their end.
	if err := en.Advance(context.Background(), t0.Add(72*time.Hour).UnixNano(), nil); err != nil {
		t.Fatal(err)
	}
	if en.Stats().Cooldowns != 1 {
		t.Fatalf("after watermark 72h: %d entries, want 1 (key 8 ends at 72h1m)", en.Stats().Cooldowns)
	}
}

func TestSnapshotRestore(t *testing.T) {
	en := demoEngine(t, EngineConfig{IDField: "event_id"})
	process(t, en, enriched(1, 7, 3, 0, customer(7, 1, 1, stream.Int(1))), enriched(2, 8, 3, 0, customer(8, 1, 1, stream.Null())))
	snap, err := en.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	again, _ := en.Snapshot()
	if string(snap) != string(again) {
		t.Fatal("snapshot not deterministic")
	}
	fresh := demoEngine(t, EngineConfig{IDField: "event_id"})
	if err := fresh.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if n := fresh.Stats().Cooldowns; n != 3 {
		t.Fatalf("%d entries restored, want 3", n)
	}
	if out := process(t, fresh, enriched(3, 7, 3, time.Hour, customer(7, 1, 1, stream.Int(1)))); len(out) != 0 {
		t.Fatalf("restored cooldown did not hold: %v", targets(out))
	}
	for _, bad := range []string{"", "RSCD", "XXXX\x01\x00", "RSCD\x02\x00", "RSCD\x01\x05", "RSCD\x01\x01\x01a\x01b", string(snap) + "x"} {
		if err := fresh.Restore([]byte(bad)); err == nil {
			t.Errorf("Restore(%q) accepted", bad)
		}
	}
	if n := fresh.Stats().Cooldowns; n != 3 {
		t.Fatalf("failed restore changed the state: %d entries", n)
	}
}

func FuzzRestore(f *testing.F) {
	en := demoEngine(&testing.T{}, EngineConfig{IDField: "event_id"})
	var out stream.Emitter
	_ = en.Process(context.Background(), []stream.Event{enriched(1, 7, 3, 0, customer(7, 1, 1, stream.Int(1)))}, &out)
	snap, _ := en.Snapshot()
	f.Add(snap)
	f.Add([]byte("RSCD\x01\x00"))
	f.Add([]byte("RSCD\x01\x02\x01a\x01b\x02\x01a\x01b\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeCooldowns(data)
		if err != nil {
			return
		}
		e2 := &Engine{cool: c}
		re, _ := e2.Snapshot()
		c2, err := decodeCooldowns(re)
		if err != nil || c2.len() != c.len() {
			t.Fatalf("re-encoded snapshot does not decode: %v", err)
		}
		for rule, m := range c.byRule {
			for k, v := range m.all() {
				if c2.byRule[rule].all()[k] != v {
					t.Fatalf("entry %s/%s changed", rule, k)
				}
			}
		}
	})
}

// logRecorder is a slog handler keeping records.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := r.Message
	r.Attrs(func(a slog.Attr) bool { s += " " + a.String(); return true })
	h.msgs = append(h.msgs, s)
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }
func (h *logRecorder) count(prefix string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.msgs {
		if strings.HasPrefix(m, prefix) {
			n++
		}
	}
	return n
}

func TestRuntimeErrorsCountedAndRateLimited(t *testing.T) {
	set, err := testEnv().NewRuleSet("v1",
		Rule{Name: "div", When: "customer.level / customer.campaign > 0", Target: "t"},
		Rule{Name: "ok", When: "customer.status == 1", Target: "t"},
		Rule{Name: "unset", When: "customer.pred_event < 1", Target: "t"},
	)
	if err != nil {
		t.Fatal(err)
	}
	clock := stream.NewManualClock(t0)
	logs := &logRecorder{}
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id", Clock: clock, Logger: slog.New(logs), LogInterval: time.Minute})
	c := customer(7, 1, 1, stream.Null()) // campaign 0: division by zero; pred_event unset
	for i := 0; i < 5; i++ {
		out := process(t, en, enriched(int64(i), 7, 3, time.Duration(i)*time.Second, c))
		if len(out) != 1 || out[0].Get("rule").Str() != "ok" {
			t.Fatalf("event %d: %v: the other rule must still fire", i, targets(out))
		}
	}
	if n := logs.count("rule runtime errors rule=div"); n != 1 {
		t.Fatalf("%d log lines for div within one interval, want 1: %v", n, logs.msgs)
	}
	clock.Advance(time.Minute)
	process(t, en, enriched(9, 7, 3, time.Hour, c))
	if n := logs.count("rule runtime errors rule=div errors_total=6 since_last_log=5"); n != 1 {
		t.Fatalf("want a second line after the interval: %v", logs.msgs)
	}
	st := en.Stats()
	if st.Rule("div").Errors != 6 || st.Rule("unset").Errors != 6 || st.Rule("ok").Firings != 6 {
		t.Fatalf("stats %+v", st.Rules)
	}
}

func TestCostLimit(t *testing.T) {
	env, err := NewEnv(EnvConfig{EventSchema: gen.PlaySchema, Joins: demoJoins(), Windows: demoWindows(), CostLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	set, err := env.NewRuleSet("",
		Rule{Name: "heavy", When: "[1,2,3,4,5,6,7,8,9,10].all(x, [1,2,3,4,5,6,7,8,9,10].all(y, x * y > 0))", Target: "t"},
		Rule{Name: "light", When: "customer.level < 2 && customer.status == 1", Target: "t"},
	)
	if err != nil {
		t.Fatal(err)
	}
	if !set.rules[0].condTracked || set.rules[1].condTracked {
		t.Fatalf("tracked: heavy %v light %v", set.rules[0].condTracked, set.rules[1].condTracked)
	}
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id"})
	out := process(t, en, enriched(1, 7, 3, 0, customer(7, 1, 1, stream.Null())))
	if targets(out) != "t/light:7:1" {
		t.Fatalf("got %s", targets(out))
	}
	if en.Stats().Rule("heavy").Errors != 1 {
		t.Fatal("cost limit not enforced")
	}
	// A cancelled context interrupts tracked rules (a regular expression
	// over a string of unknown size has no static bound).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var em stream.Emitter
	env2, _ := NewEnv(EnvConfig{EventSchema: gen.PlaySchema, Joins: demoJoins(), Windows: demoWindows(), CostLimit: 1 << 40, InterruptCheckFrequency: 1})
	set2, err := env2.NewRuleSet("", Rule{Name: "loop", When: "[1, 2, 3].exists(x, !event.listening_zip_code.matches('^z+$'))", Target: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if !set2.rules[0].condTracked {
		t.Fatal("unbounded rule on the fast path")
	}
	en2, _ := NewEngine(set2, EngineConfig{IDField: "event_id"})
	w := play(1, 7, 3, 0)
	_ = en2.Process(ctx, []stream.Event{w}, &em)
	if en2.Stats().Rule("loop").Errors != 1 || len(em.Events()) != 0 {
		t.Fatalf("cancelled evaluation: %+v", en2.Stats().Rules)
	}
	em.Reset()
	_ = en2.Process(context.Background(), []stream.Event{w}, &em)
	if len(em.Events()) != 1 {
		t.Fatal("tracked rule does not fire with a live context")
	}
}

func TestExplainAndVariables(t *testing.T) {
	set, err := testEnv().NewRuleSet("v9",
		Rule{Name: "why", When: "customer.level < 2 && event.track_id == 3 && now == event.datetime && track.length > 100", Target: "t"},
		Rule{Name: "win", Window: "w", When: "window.count >= 3 && window.span <= duration('30m') && window.key == '7|3' && window.aggregates.plays == 3", Target: "w",
			Payload: `{"span_s": window.span.getSeconds(), "first": window.first}`},
	)
	if err != nil {
		t.Fatal(err)
	}
	en, _ := NewEngine(set, EngineConfig{IDField: "event_id", Explain: true})
	out := process(t, en, enriched(1, 7, 3, 0, customer(7, 1, 1, stream.Null())))
	if len(out) != 1 {
		t.Fatalf("%d emissions", len(out))
	}
	var ex struct {
		Rule, Version string
		Values        map[string]any
	}
	if err := json.Unmarshal([]byte(out[0].Get("explain").Str()), &ex); err != nil {
		t.Fatal(err)
	}
	if ex.Rule != "why" || ex.Version != "v9" || ex.Values["customer.level"] != 1.0 || ex.Values["event.track_id"] != 3.0 ||
		ex.Values["track.length"] != 180.0 || ex.Values["now"] != "2014-10-01T12:00:00Z" {
		t.Fatalf("explain %s", out[0].Get("explain").Str())
	}
	w := windowResult("w", 7, 3, 3, 0, 20*time.Minute)
	w.Window.Aggs = map[string]stream.Value{"plays": stream.Int(3)}
	out = process(t, en, w)
	if len(out) != 1 || out[0].Get("span_s").Int() != 1200 || out[0].Get("first").Nanos() != t0.UnixNano() {
		t.Fatalf("window emission %v", out)
	}
}

func TestPassThroughAndKeyFallback(t *testing.T) {
	set, _ := testEnv().NewRuleSet("", Rule{Name: "all", When: "true", Target: "t"})
	en, _ := NewEngine(set, EngineConfig{PassThrough: true, KeyField: "nope", IDField: "event_id"})
	ev := play(1, 7, 3, 0)
	ev.Key = "k"
	out := process(t, en, ev)
	if len(out) != 2 || out[0].ID != "all:k:1" || out[1].Target != "" || out[1].ID != "" {
		t.Fatalf("%+v", out)
	}
}
