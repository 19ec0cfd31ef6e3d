package window_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// finalResults keeps the last result of each (key, start), with the update
// flag cleared, and checks that every update re-fires an emitted window.
func finalResults(t *testing.T, evs []stream.Event) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, ev := range evs {
		w := *ev.Window
		k := fmt.Sprintf("%s@%d", w.Key, w.Start-base)
		if _, ok := m[k]; w.Update && !ok && w.Kind != window.KindSession {
			t.Fatalf("update of a window never emitted: %s", windowLine(&w))
		}
		w.Update = false
		m[k] = windowLine(&w)
	}
	return m
}

// TestOracleLateness delivers events up to the allowed lateness behind the
// watermark: count-within still matches the oracle exactly (its decisions
// wait for the lateness), and the last result of every time window equals
// the oracle (late events re-fire it with Update set).
func TestOracleLateness(t *testing.T) {
	const lateness = 25 * time.Minute
	updates := 0
	defer func() {
		if updates == 0 {
			t.Error("no late event updated a window: the test proves nothing about lateness")
		}
	}()
	for seed := range uint64(100) {
		r := rand.New(rand.NewPCG(seed, 11))
		ps := randomPlays(r, 20+r.IntN(60), 3*time.Hour)

		cw := cwCfg(false)
		cw.AllowedLateness = lateness
		res, _ := drive(t, r, must(window.NewCountWithin(cw)), arrival(r, ps, 0.3, bound+lateness), bound)
		diff(t, fmt.Sprintf("count-within seed %d", seed), lines(res, true), oracleCountWithin(ps, 3, 30*time.Minute, false))

		wc := winCfg()
		wc.AllowedLateness = lateness
		tw := must(window.NewSliding(window.SlidingConfig{WindowConfig: wc, Size: 30 * time.Minute, Slide: 10 * time.Minute}))
		res, st := drive(t, r, tw, arrival(r, ps, 0.3, bound+lateness), bound)
		if st.Late != 0 {
			t.Fatalf("seed %d: %d events late within the allowed lateness", seed, st.Late)
		}
		got := finalResults(t, res)
		for _, ev := range res {
			if ev.Window.Update {
				updates++
			}
		}
		want := oracleTime(ps, 30*time.Minute, 10*time.Minute)
		var gl []string
		for _, l := range got {
			gl = append(gl, l)
		}
		slices.Sort(gl)
		slices.Sort(want)
		diff(t, fmt.Sprintf("sliding seed %d", seed), gl, want)

		sw := must(window.NewSessions(window.SessionConfig{WindowConfig: wc, Gap: 7 * time.Minute}))
		res, _ = drive(t, r, sw, arrival(r, ps, 0.3, bound+lateness), bound)
		got = finalResults(t, res)
		for _, l := range oracleSessions(ps, 7*time.Minute) {
			k := l[:strings.Index(l, " ")] + "@" + l[strings.Index(l, " ")+1:strings.Index(l, "..")]
			if got[k] != l {
				t.Fatalf("session seed %d: want %s, got %q", seed, l, got[k])
			}
		}
	}
}
