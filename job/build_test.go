package job

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
)

// tapRecorder is a BuildConfig.Tap that records the partitions it was
// built for.
type tapRecorder struct {
	mu   sync.Mutex
	pids []stream.PartitionID
	err  error
}

func (r *tapRecorder) tap(pid stream.PartitionID) (stream.Operator, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pids = append(r.pids, pid)
	return stream.Map(func(*stream.Event) bool { return true }), r.err
}

func TestOperatorsShape(t *testing.T) {
	perEvent := "rules:\n  - name: big\n    when: event.n > 1.0\n    target: out\n"
	cooldown := "rules:\n  - name: big\n    when: event.n > 1.0\n    target: out\n    cooldown: 1h\n"
	win := "windows:\n  - name: w\n    type: count_within\n    key: user\n    count: 2\n    within: 10m\n"
	winRule := "  - name: twice\n    window: w\n    when: window.count >= 2\n    target: out\n"
	for _, tc := range []struct {
		name, src string
		tap       bool
		want      []string // operator types, in order
		up        int      // operators of Upstream
	}{
		{"per-event rules", withBase(perEvent), false, []string{"*window.Dedup", "*rules.Engine"}, 1},
		// Without the tap, the plain events need no branch.
		{"per-event rules, tap", withBase(perEvent), true, []string{"*window.Dedup", "parallel", "*rules.Engine"}, 1},
		{"cooldown", withBase(cooldown), false, []string{"*window.Dedup", "*window.Order", "*rules.Engine"}, 2},
		{"window only", withBase(win + "rules:\n" + winRule), false, []string{"*window.Dedup", "*window.CountWithin", "*rules.Engine"}, 2},
		{"window and events", withBase(win + perEvent + winRule), false, []string{"*window.Dedup", "parallel", "*rules.Engine"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := mustParse(t, tc.src)
			cfg := BuildConfig{Redis: deadRedis(t)}
			rec := &tapRecorder{}
			if tc.tap {
				cfg.Tap = rec.tap
			}
			b, err := j.Build(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ops, err := b.Operators(stream.PartitionID{Source: 1, Partition: 3})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, op := range ops {
				s := fmt.Sprintf("%T", op)
				switch s {
				case "*stream.parallel":
					s = "parallel"
				case "*job.releasing": // the engine, taking its partition out of the registry when released
					s = "*rules.Engine"
				}
				got = append(got, s)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("operators %v, want %v", got, tc.want)
			}
			if tc.tap && !reflect.DeepEqual(rec.pids, []stream.PartitionID{{Source: 1, Partition: 3}}) {
				t.Errorf("tap built for %v", rec.pids)
			}

			// Upstream is the same without the tap and the engine, and
			// leaves the Tap in place for the next partition.
			up, err := b.Upstream()
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.pids) > 1 {
				t.Errorf("Upstream built the tap")
			}
			if len(up) != tc.up {
				t.Errorf("Upstream has %d operators, want %d", len(up), tc.up)
			}
			for _, op := range up {
				if _, ok := op.(*rules.Engine); ok {
					t.Errorf("Upstream holds an engine")
				}
			}
			if tc.tap {
				if _, err := b.Operators(stream.PartitionID{Partition: 4}); err != nil || len(rec.pids) != 2 {
					t.Errorf("after Upstream, Operators built the tap %d times (err %v), want 2", len(rec.pids), err)
				}
			}
		})
	}
}

func TestOperatorsTapError(t *testing.T) {
	j := mustParse(t, withBase(""))
	boom := errors.New("boom")
	rec := &tapRecorder{err: boom}
	b, err := j.Build(BuildConfig{Redis: deadRedis(t), Tap: rec.tap})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Operators(stream.PartitionID{}); !errors.Is(err, boom) {
		t.Errorf("Operators: %v, want the tap's error", err)
	}
}

// TestUpstreamConcurrentWithOperators: Upstream (a backtest) may run while
// partitions are assigned.
func TestUpstreamConcurrentWithOperators(t *testing.T) {
	j := mustParse(t, withBase(""))
	rec := &tapRecorder{}
	b, err := j.Build(BuildConfig{Redis: deadRedis(t), Tap: rec.tap})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(2)
		go func() { defer wg.Done(); _, _ = b.Operators(stream.PartitionID{Partition: int32(i)}) }()
		go func() { defer wg.Done(); _, _ = b.Upstream() }()
	}
	wg.Wait()
	if len(rec.pids) != 20 {
		t.Errorf("the tap was built for %d partitions of 20", len(rec.pids))
	}
}

// A partition's operators leave Built's registry when the runner releases
// them (a revoked partition), their counts kept.
func TestReleasedPartitionsKeepTheirCounts(t *testing.T) {
	j := mustParse(t, withBase(""))
	b, err := j.Build(BuildConfig{Redis: deadRedis(t)})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := int32(0); i < 4; i++ {
		ops, err := b.Operators(stream.PartitionID{Partition: i})
		if err != nil {
			t.Fatal(err)
		}
		ev := stream.Event{Key: "u", Time: t0.UnixNano(), Schema: j.Schema, Pos: stream.Position{Source: "in", Partition: i},
			Fields: []stream.Value{stream.Int(int64(i)), stream.String("u"), stream.Int(1), stream.Time(t0), stream.Float(5)}}
		var em stream.Emitter
		for _, op := range ops {
			em.Reset()
			if err := op.Process(context.Background(), []stream.Event{ev}, &em); err != nil {
				t.Fatal(err)
			}
			if len(em.Events()) > 0 {
				ev = em.Events()[0]
			}
		}
		ops[len(ops)-1].(stream.Releaser).Release()
		ops[len(ops)-1].(stream.Releaser).Release() // twice: no harm
	}
	if n := len(b.parts); n != 0 {
		t.Errorf("%d partitions still registered", n)
	}
	if c := b.Counters(); c.Firings["big"] != 4 {
		t.Errorf("firings %v, want big=4 kept from the released partitions", c.Firings)
	}
}
