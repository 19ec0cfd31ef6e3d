package rules

import (
	"strconv"
	"testing"
	"time"
)

func TestCanonicalInt(t *testing.T) {
	for _, s := range []string{"0", "7", "-7", "42", "9223372036854775807", "-9223372036854775808"} {
		n, ok := canonicalInt(s)
		if !ok || strconv.FormatInt(n, 10) != s {
			t.Errorf("%q: %d %v, want its int", s, n, ok)
		}
	}
	for _, s := range []string{"", "-", "-0", "007", "+7", "7a", " 7", "9223372036854775808", "1.0", "١"} {
		if n, ok := canonicalInt(s); ok {
			t.Errorf("%q: parsed as %d, want a text key", s, n)
		}
	}
}

// A key is one entry whichever form its text came in, and the int form
// round-trips through a snapshot as text.
func TestCooldownKeyForms(t *testing.T) {
	c := newCooldowns()
	r := c.rule("ad")
	hour := int64(time.Hour)
	if !c.allow(r, coolKey{n: 42, isInt: true}, 0, time.Hour) {
		t.Fatal("first firing suppressed")
	}
	if c.allow(r, textKey("42"), hour/2, time.Hour) {
		t.Fatal(`"42" as text escaped the cooldown of 42 as int`)
	}
	if !c.allow(r, textKey("042"), hour/2, time.Hour) {
		t.Fatal(`"042" is another key than 42`)
	}
	if c.len() != 2 || len(r.ints) != 1 || len(r.ends) != 1 {
		t.Fatalf("%d entries (%d int, %d text), want 2 (1, 1)", c.len(), len(r.ints), len(r.ends))
	}
	en := &Engine{cool: c}
	snap, err := en.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeCooldowns(snap)
	if err != nil {
		t.Fatal(err)
	}
	if got := back.byRule["ad"].all(); len(got) != 2 || got["42"] != hour || got["042"] != hour/2+hour {
		t.Fatalf("restored %v", got)
	}
	c.expire(hour)
	if c.len() != 1 || len(r.ints) != 0 {
		t.Fatalf("after expiry at the int key's end: %d entries, %d int", c.len(), len(r.ints))
	}
}

// all returns every entry by its key's text.
func (r *ruleCool) all() map[string]int64 {
	m := make(map[string]int64, len(r.ends)+len(r.ints))
	for k, end := range r.ends {
		m[k] = end
	}
	for n, end := range r.ints {
		m[strconv.FormatInt(n, 10)] = end
	}
	return m
}
