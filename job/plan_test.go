package job

import (
	"reflect"
	"strings"
	"testing"
)

// planJob has lookups and windows read in every way a plan tells apart:
// customer by a per-event rule, track only by the where: of a built window,
// geo only by the where: of a window no rule reads, promo only by a disabled
// rule; window w1 is read by a rule, w2 by none, w3 by a disabled rule.
const planJob = `lookups:
  - name: customer
    key: "customer:{user}"
    fields: {level: int}
  - name: track
    key: "track:{track}"
    fields: {length: int}
  - name: geo
    key: "geo:{user}"
    fields: {zip: string}
  - name: promo
    key: "promo:{user}"
    fields: {code: string}
windows:
  - name: w1
    type: count_within
    key: [user, track]
    count: 2
    within: 10m
    where: track.length > 10
  - name: w2
    type: tumbling
    key: user
    size: 1h
    where: geo.zip == "10001"
  - name: w3
    type: session
    key: track
    gap: 5m
rules:
  - name: per_event
    when: customer.level < 2
    target: out
    COOLDOWN
  - name: repeats
    window: w1
    when: window.count >= 2
    target: out
  - name: off
    window: w3
    when: promo.code == "x"
    target: out
    enabled: false
`

func planOf(t *testing.T, cooldown string) Plan {
	t.Helper()
	return mustParse(t, withBase(strings.Replace(planJob, "COOLDOWN", cooldown, 1))).Plan()
}

func TestPlanBuildsOnlyWhatRulesUse(t *testing.T) {
	p := planOf(t, "")
	want := Plan{
		Dedup:    true,
		Lookups:  []string{"customer", "track"},
		Windows:  []string{"w1"},
		PerEvent: true,
		Order:    false,
		Unused: []string{
			"window w2: no enabled rule reads it",
			"window w3: no enabled rule reads it",
			"lookup geo: no rule or where: reads it",
			"lookup promo: no rule or where: reads it",
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("plan:\n%#v\nwant:\n%#v", p, want)
	}
	if got, want := p.String(), "dedup → customer → track → [w1 | events] → rules"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestPlanOrderOnlyWithPerEventCooldown(t *testing.T) {
	p := planOf(t, "cooldown: 1h")
	if !p.Order || !p.PerEvent {
		t.Errorf("per-event rule with a cooldown: Order %v PerEvent %v, want both", p.Order, p.PerEvent)
	}
	if got, want := p.String(), "dedup → customer → track → [w1 | order] → rules"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	// A cooldown on a window rule needs no order: window results come in
	// event-time order already.
	j := mustParse(t, withBase(`windows:
  - name: w
    type: count_within
    key: user
    count: 2
    within: 10m
rules:
  - name: r
    window: w
    when: window.count >= 2
    target: out
    cooldown: 1h
`))
	p = j.Plan()
	if p.Order || p.PerEvent {
		t.Errorf("window rule with a cooldown: Order %v PerEvent %v, want neither", p.Order, p.PerEvent)
	}
	if got, want := p.String(), "dedup → [w] → rules"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	// A disabled per-event rule's cooldown does not count either.
	j = mustParse(t, withBase("rules:\n  - name: a\n    when: event.n > 1.0\n    target: out\n  - name: b\n    when: event.n > 2.0\n    target: out\n    cooldown: 1h\n    enabled: false\n"))
	if p := j.Plan(); p.Order || !p.PerEvent {
		t.Errorf("disabled rule with a cooldown: Order %v PerEvent %v, want PerEvent only", p.Order, p.PerEvent)
	}
}

func TestPlanString(t *testing.T) {
	for _, tc := range []struct {
		plan Plan
		want string
	}{
		{Plan{}, "rules"},
		{Plan{PerEvent: true}, "rules"},
		{Plan{Dedup: true, PerEvent: true}, "dedup → rules"},
		{Plan{Dedup: true, Lookups: []string{"a", "b"}, PerEvent: true}, "dedup → a → b → rules"},
		{Plan{Windows: []string{"w"}}, "[w] → rules"},
		{Plan{Windows: []string{"w", "v"}}, "[w | v] → rules"},
		{Plan{Windows: []string{"w"}, PerEvent: true}, "[w | events] → rules"},
		{Plan{Lookups: []string{"c"}, Windows: []string{"w", "v"}, PerEvent: true, Order: true}, "c → [w | v | order] → rules"},
	} {
		if got := tc.plan.String(); got != tc.want {
			t.Errorf("%+v: String() = %q, want %q", tc.plan, got, tc.want)
		}
	}
}

// TestPlanStringOrderWithoutWindows: the event-time order in front of the
// rules is part of the chain even when no window is built.
func TestPlanStringOrderWithoutWindows(t *testing.T) {
	p := Plan{Dedup: true, PerEvent: true, Order: true}
	if got, want := p.String(), "dedup → order → rules"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestPlanNoID(t *testing.T) {
	src := strings.Replace(withBase(""), "  id: id\n", "", 1)
	if p := mustParse(t, src).Plan(); p.Dedup {
		t.Errorf("input without id: Dedup = true")
	}
}

func TestPlanMusicstream(t *testing.T) {
	j, err := Load("../examples/musicstream/job.yaml", Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := j.Plan()
	// No rule reads the track (the dashboard does, through
	// BuildConfig.Lookups).
	if got, want := p.String(), "dedup → customer → [repeats | order] → rules"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if want := []string{"lookup track: no rule or where: reads it"}; !reflect.DeepEqual(p.Unused, want) {
		t.Errorf("Unused = %q, want %q", p.Unused, want)
	}
	if ok, why := j.Lanes(); !ok {
		t.Errorf("Lanes() = false, %q", why)
	}
}

func TestLanes(t *testing.T) {
	window := func(key string) string {
		return "windows:\n  - name: w\n    type: count_within\n    key: " + key + "\n    count: 2\n    within: 10m\n"
	}
	windowRule := "rules:\n  - name: r\n    window: w\n    when: window.count >= 2\n    target: out\n"
	for _, tc := range []struct {
		name, src string
		ok        bool
		why       string
	}{
		{"no key", strings.Replace(withBase(""), "  key: user\n", "", 1), false, "the input has no key"},
		{"no windows", withBase(""), true, ""},
		{"window keyed by the input key and more", withBase(window("[user, track]") + windowRule), true, ""},
		{"window not keyed by the input key", withBase(window("track") + windowRule), false, "window w is not keyed by the input's key field user"},
		{"unbuilt window not keyed by the input key", withBase(window("track")), true, ""},
		{"input key of two fields, window keyed by one", withBase(strings.Replace(window("user")+windowRule+baseInput, "  id: id\n  key: user\n", "  id: id\n  key: [user, track]\n", 1)),
			false, "window w is not keyed by the input's key field track"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := mustParse(t, tc.src).Lanes()
			if ok != tc.ok || why != tc.why {
				t.Errorf("Lanes() = %v, %q; want %v, %q", ok, why, tc.ok, tc.why)
			}
		})
	}
}

// The order per-event rules see events in: auto means arrival for a live
// input (Job.Live) and event time otherwise; order: overrides either way.
// Only event-time order builds the order operator in front of a cooldown.
func TestPlanRuleOrder(t *testing.T) {
	for _, c := range []struct {
		order string
		live  bool
		want  Order
	}{
		{"", false, OrderEventTime},
		{"", true, OrderArrival},
		{"order: auto\n", true, OrderArrival},
		{"order: arrival\n", false, OrderArrival},
		{"order: event_time\n", true, OrderEventTime},
	} {
		j := mustParse(t, withBase(c.order+strings.Replace(planJob, "COOLDOWN", "cooldown: 1h", 1)))
		j.Live = c.live
		if got := j.RuleOrder(); got != c.want {
			t.Errorf("%q live=%v: RuleOrder() = %q, want %q", c.order, c.live, got, c.want)
		}
		if p := j.Plan(); p.Order != (c.want == OrderEventTime) || !p.PerEvent {
			t.Errorf("%q live=%v: Plan() Order %v PerEvent %v", c.order, c.live, p.Order, p.PerEvent)
		}
	}
	if _, err := Parse("job.yaml", []byte(withBase("order: sometimes\n"+strings.Replace(planJob, "COOLDOWN", "", 1))), Options{}); err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Errorf("order: sometimes: %v", err)
	}
}

// early: given is kept; absent, a live input fires count_within and
// pattern matches early and a bounded one does not; time windows never do.
func TestEarlyFor(t *testing.T) {
	j := mustParse(t, withBase(`windows:
  - name: w
    type: count_within
    key: user
    count: 3
    within: 10m
  - name: off
    type: count_within
    key: user
    count: 3
    within: 10m
    early: false
  - name: on
    type: count_within
    key: user
    count: 3
    within: 10m
    early: true
  - name: t
    type: tumbling
    key: user
    size: 1m
`))
	want := map[bool]map[string]bool{false: {"w": false, "off": false, "on": true, "t": false}, true: {"w": true, "off": false, "on": true, "t": false}}
	for _, live := range []bool{false, true} {
		j.Live = live
		for _, w := range j.Windows {
			if got := j.EarlyFor(w); got != want[live][w.Name] {
				t.Errorf("live=%v window %s: EarlyFor %v", live, w.Name, got)
			}
		}
	}
}
