package rules

import (
	"math"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// A cooldown whose end lies past the largest time (a play on 2262-04-11,
// the last day int64 nanoseconds hold, with a cooldown of 24h) lasts to the
// end of time: its end does not wrap to a negative time, which let the
// next play of the key fire again at once.
func TestCooldownPastTheLargestTime(t *testing.T) {
	en := demoEngine(t, EngineConfig{IDField: "event_id"})
	c := customer(7, 1, 1, stream.Int(1))
	last := time.Duration(stream.MaxTimeNanos-t0.UnixNano()) - time.Hour // 2262-04-11 22:47:16
	if got := targets(process(t, en, enriched(1, 7, 3, last, c))); got != "ads/upgrade_ad:7:1 sms/sms_offer:7:1" {
		t.Fatalf("first play: %s", got)
	}
	if got := process(t, en, enriched(2, 7, 4, last+30*time.Minute, c)); len(got) != 0 {
		t.Fatalf("a play 30m later, within the 24h cooldown, fired: %s", targets(got))
	}
	if got := process(t, en, enriched(3, 7, 5, last+time.Hour-1, c)); len(got) != 0 {
		t.Fatalf("a play a nanosecond before the largest time, within the 24h cooldown, fired: %s", targets(got))
	}
	cool := newCooldowns()
	r := cool.rule("r")
	if !cool.allow(r, textKey("k"), math.MaxInt64-2, time.Hour) || cool.allow(r, textKey("k"), math.MaxInt64-1, time.Hour) {
		t.Fatal("a cooldown from the largest time did not hold")
	}
	if end, _ := r.get(textKey("k")); end != math.MaxInt64 {
		t.Fatalf("end %d, want the largest time", end)
	}
}
