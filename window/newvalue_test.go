package window_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/window"
)

// nvSchema: logins of users from devices; the device is an int or a string
// (two schemas), so both state tables are exercised.
var (
	nvIntSchema = stream.MustSchema("login", stream.Field{Name: "id", Kind: stream.KindInt},
		stream.Field{Name: "user", Kind: stream.KindInt}, stream.Field{Name: "device", Kind: stream.KindInt})
	nvStrSchema = stream.MustSchema("login", stream.Field{Name: "id", Kind: stream.KindInt},
		stream.Field{Name: "user", Kind: stream.KindString}, stream.Field{Name: "device", Kind: stream.KindString})
)

type nvLogin struct {
	id, user, device int64
	t                int64
	null             bool // the device is null
}

func (l nvLogin) event(strs bool) stream.Event {
	ev := stream.Event{Time: l.t, Pos: stream.Position{Source: "in", Partition: -1, Offset: l.id}}
	dev := stream.Int(l.device)
	if strs {
		dev = stream.String(fmt.Sprintf("dev-%d", l.device))
	}
	if l.null {
		dev = stream.Null()
	}
	if strs {
		ev.Schema, ev.Key = nvStrSchema, fmt.Sprintf("u%d", l.user)
		ev.Fields = []stream.Value{stream.Int(l.id), stream.String(ev.Key), dev}
	} else {
		ev.Schema, ev.Key = nvIntSchema, fmt.Sprint(l.user)
		ev.Fields = []stream.Value{stream.Int(l.id), stream.Int(l.user), dev}
	}
	return ev
}

// nvOracle is NewValueConfig's definition, plainly: in decision order
// (time, then id; duplicates once), an event is new when its (user,
// device) was not seen at or after t - within.
func nvOracle(ls []nvLogin, within int64) []int64 {
	seen := map[int64]bool{}
	var uniq []nvLogin
	for _, l := range ls {
		if !seen[l.id] {
			seen[l.id] = true
			uniq = append(uniq, l)
		}
	}
	slices.SortFunc(uniq, func(a, b nvLogin) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.id, b.id)) })
	last := map[[2]int64]int64{}
	var out []int64
	for _, l := range uniq {
		if l.null {
			continue
		}
		k := [2]int64{l.user, l.device}
		if t, ok := last[k]; !ok || l.t-t > within {
			out = append(out, l.id)
		}
		last[k] = l.t
	}
	return out
}

// nvInput makes logins over a few users and devices, times on a coarse
// grid (so that ties and exact bounds happen), some duplicated, arriving
// shuffled within delay of event time.
func nvInput(r *rand.Rand, n int, delay int64) []nvLogin {
	var ls []nvLogin
	t := int64(1_700_000_000e9)
	for i := 0; i < n; i++ {
		t += int64(r.IntN(4)) * int64(time.Minute)
		ls = append(ls, nvLogin{id: int64(i), user: int64(r.IntN(5)), device: int64(r.IntN(4)), t: t, null: r.IntN(20) == 0})
	}
	type arr struct {
		at int64
		l  nvLogin
	}
	var as []arr
	for _, l := range ls {
		d := r.Int64N(delay + 1)
		as = append(as, arr{l.t + d, l})
		if r.IntN(10) == 0 {
			as = append(as, arr{l.t + r.Int64N(delay+1), l}) // a redelivery
		}
	}
	slices.SortStableFunc(as, func(a, b arr) int { return cmp.Compare(a.at, b.at) })
	out := make([]nvLogin, len(as))
	for i, a := range as {
		out[i] = a.l
	}
	return out
}

// runNV feeds arrival to a NewValue in batches of batch events, advancing
// the watermark to the newest time minus bound after each, and, when
// snapAt >= 0, swaps the operator for one restored from its snapshot after
// batch snapAt.
func runNV(t *testing.T, arrival []nvLogin, strs bool, within, bound time.Duration, batch, snapAt int) []int64 {
	t.Helper()
	cfg := window.NewValueConfig{PatternConfig: window.PatternConfig{Name: "new_device", KeyBy: []string{"user"}, Within: within, Dedup: "id"}, Field: "device"}
	op, err := window.NewNewValue(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out stream.Emitter
	maxT := stream.MinWatermark
	for b := 0; b*batch < len(arrival); b++ {
		var in []stream.Event
		for _, l := range arrival[b*batch : min((b+1)*batch, len(arrival))] {
			in = append(in, l.event(strs))
			maxT = max(maxT, l.t)
		}
		if err := op.Process(ctx, in, &out); err != nil {
			t.Fatal(err)
		}
		if err := op.Advance(ctx, maxT-int64(bound), &out); err != nil {
			t.Fatal(err)
		}
		if b == snapAt {
			snap, err := op.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if op, err = window.NewNewValue(cfg); err != nil {
				t.Fatal(err)
			}
			if err := op.Restore(snap); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := op.Advance(ctx, stream.MaxWatermark, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.LateEvents()) != 0 {
		t.Fatalf("%d late events within the bound", len(out.LateEvents()))
	}
	var ids []int64
	for _, ev := range out.Events() {
		if ev.Window == nil || ev.Window.Kind != window.KindNewValue || ev.Window.Name != "new_device" || ev.Window.First != ev.Time {
			t.Fatalf("result %+v", ev.Window)
		}
		if want := ev.Get("user").Text(); ev.Window.Key != want {
			t.Fatalf("result key %q, want %q", ev.Window.Key, want)
		}
		ids = append(ids, ev.Get("id").Int())
	}
	return ids
}

// The operator equals the definition on random inputs, whatever the
// arrival order within the bound, the batching, duplicate deliveries and a
// snapshot and restore mid-run, for int pairs and interned string pairs.
func TestNewValueEqualsOracle(t *testing.T) {
	for seed := uint64(0); seed < 60; seed++ {
		r := rand.New(rand.NewPCG(seed, 0x4e56))
		bound := time.Duration(r.IntN(4)) * 2 * time.Minute
		within := time.Duration(1+r.IntN(12)) * time.Minute
		arrival := nvInput(r, 300, int64(bound))
		want := nvOracle(arrival, int64(within))
		if len(want) == 0 {
			t.Fatalf("seed %d: nothing new", seed)
		}
		for _, strs := range []bool{false, true} {
			batch := 1 + r.IntN(40)
			got := runNV(t, arrival, strs, within, bound, batch, r.IntN(len(arrival)/batch+1)-1)
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d strings %v within %v bound %v batch %d:\n got %v\nwant %v", seed, strs, within, bound, batch, got, want)
			}
		}
	}
}

// Exactly Within after the last sighting the value is not new; a moment
// later it is.
func TestNewValueBoundary(t *testing.T) {
	m := int64(time.Minute)
	t0 := int64(1_700_000_000e9)
	ls := []nvLogin{{id: 1, user: 1, device: 7, t: t0}, {id: 2, user: 1, device: 7, t: t0 + 10*m},
		{id: 3, user: 1, device: 7, t: t0 + 20*m + 1}, {id: 4, user: 2, device: 7, t: t0 + 20*m + 1}}
	if got := runNV(t, ls, false, 10*time.Minute, 0, 10, -1); !slices.Equal(got, []int64{1, 3, 4}) {
		t.Fatalf("new: %v, want [1 3 4]", got)
	}
}

func TestNewValueStateExpiresAndIsBounded(t *testing.T) {
	op, _ := window.NewNewValue(window.NewValueConfig{PatternConfig: window.PatternConfig{Name: "n", KeyBy: []string{"user"},
		Within: time.Minute, MaxKeys: 100}, Field: "device"})
	ctx := context.Background()
	var out stream.Emitter
	t0 := int64(1_700_000_000e9)
	var in []stream.Event
	for i := 0; i < 1000; i++ {
		in = append(in, nvLogin{id: int64(i), user: int64(i), device: 1, t: t0 + int64(i)*int64(time.Second)}.event(false))
	}
	_ = op.Process(ctx, in, &out)
	_ = op.Advance(ctx, t0+1000*int64(time.Second), &out)
	st := op.Stats()
	if st.ActiveKeys > 100 || st.Evictions == 0 || st.Emitted != 1000 {
		t.Fatalf("bounded: %+v", st)
	}
	for i := 0; i < 100; i++ { // a sweep per Advance: the pairs older than a minute go
		_ = op.Advance(ctx, t0+1000*int64(time.Second)+int64(i), &out)
	}
	if st := op.Stats(); st.ActiveKeys > 61 || st.Expired == 0 {
		t.Fatalf("expired: %+v", st)
	}
}

func TestNewValueConfigErrors(t *testing.T) {
	for cfg, want := range map[*window.NewValueConfig]string{
		{PatternConfig: window.PatternConfig{Name: "n", KeyBy: []string{"u"}, Within: time.Minute}}:          "Field is required",
		{PatternConfig: window.PatternConfig{Name: "n", KeyBy: []string{"u"}}, Field: "d"}:                   "Within must be positive",
		{PatternConfig: window.PatternConfig{Name: "n", Within: time.Minute}, Field: "d"}:                    "KeyBy needs at least one field",
		{PatternConfig: window.PatternConfig{KeyBy: []string{"u"}, Within: time.Minute}, Field: "d"}:         "Name is required",
		{PatternConfig: window.PatternConfig{Name: "n", KeyBy: []string{"u"}, Within: -1}, Field: "d"}:       "Within must be positive",
		{PatternConfig: window.PatternConfig{Name: "n", KeyBy: []string{"u"}, Within: time.Hour}, Field: ""}: "Field is required",
	} {
		if _, err := window.NewNewValue(*cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", cfg, err, want)
		}
	}
	op, _ := window.NewNewValue(window.NewValueConfig{PatternConfig: window.PatternConfig{Name: "n", KeyBy: []string{"user"}, Within: time.Minute}, Field: "ip"})
	if err := op.Start(context.Background(), stream.Env{Schema: nvIntSchema}); err == nil || !strings.Contains(err.Error(), "key field ip not in") {
		t.Fatalf("start: %v", err)
	}
}

func TestNewValueRestoreRejectsCorruptBytes(t *testing.T) {
	op, _ := window.NewNewValue(window.NewValueConfig{PatternConfig: window.PatternConfig{Name: "n", KeyBy: []string{"user"}, Within: time.Minute}, Field: "device"})
	var out stream.Emitter
	_ = op.Process(context.Background(), []stream.Event{nvLogin{id: 1, user: 1, device: 2, t: 5e9}.event(true)}, &out)
	snap, _ := op.Snapshot()
	for i := range snap {
		bad := slices.Clone(snap[:i])
		if err := op.Restore(bad); err == nil || !errors.Is(err, window.ErrCorrupt) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
}

func FuzzNewValueRestore(f *testing.F) {
	cfg := window.NewValueConfig{PatternConfig: window.PatternConfig{Name: "n", KeyBy: []string{"user"}, Within: time.Minute, Dedup: "id"}, Field: "device"}
	for _, strs := range []bool{false, true} {
		op, _ := window.NewNewValue(cfg)
		var out stream.Emitter
		var in []stream.Event
		for i := 0; i < 6; i++ {
			in = append(in, nvLogin{id: int64(i), user: int64(i % 2), device: int64(i % 3), t: int64(i) * 2e10}.event(strs))
		}
		_ = op.Process(context.Background(), in, &out)
		_ = op.Advance(context.Background(), 6e10, &out)
		snap, _ := op.Snapshot()
		f.Add(snap)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		op, _ := window.NewNewValue(cfg)
		if err := op.Restore(data); err != nil {
			if !errors.Is(err, window.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// A restored operator keeps working.
		var out stream.Emitter
		_ = op.Process(context.Background(), []stream.Event{nvLogin{id: 99, user: 1, device: 1, t: 1e12}.event(true)}, &out)
		_ = op.Advance(context.Background(), stream.MaxWatermark, &out)
		if _, err := op.Snapshot(); err != nil {
			t.Fatal(err)
		}
	})
}
