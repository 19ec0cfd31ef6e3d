package job

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/rules"
	"github.com/rulestream/rulestream/stream"
)

// The sections of a small valid job. A test writes the sections it is
// about first (so that its line numbers count from line 1 of its own text)
// and withBase appends the standard sections it did not give.
const (
	baseInput = `input:
  path: plays.csv
  columns: [id, user, track, ts, n]
  fields:
    id: int
    user: string
    track: int
    ts: time
    n: float
  time: ts
  id: id
  key: user
`
	baseRules = `rules:
  - name: big
    when: event.n > 1.0
    target: out
`
	baseTargets = `targets:
  - name: out
    type: stream
    key: "q:{user}"
`
)

// withBase returns src followed by the base sections (input, rules,
// targets) that src does not declare at the top level.
func withBase(src string) string {
	if src != "" && !strings.HasSuffix(src, "\n") {
		src += "\n"
	}
	out := src
	for _, s := range []struct{ key, text string }{{"input:", baseInput}, {"rules:", baseRules}, {"targets:", baseTargets}} {
		declared := false
		for _, line := range strings.Split(src, "\n") {
			declared = declared || strings.HasPrefix(line, s.key)
		}
		if !declared {
			out += s.text
		}
	}
	return out
}

// mustParse parses a job that must be valid.
func mustParse(t testing.TB, src string) *Job {
	t.Helper()
	j, err := Parse("job.yaml", []byte(src), Options{})
	if err != nil {
		t.Fatalf("Parse: %v\n--- job:\n%s", err, src)
	}
	return j
}

// parseErrors parses a job that must be invalid and returns its errors.
func parseErrors(t testing.TB, src string) Errors {
	t.Helper()
	j, err := Parse("job.yaml", []byte(src), Options{})
	if err == nil {
		t.Fatalf("Parse succeeded (job %q), want errors\n--- job:\n%s", j.Name, src)
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("Parse error is a %T, want Errors: %v", err, err)
	}
	if j != nil {
		t.Errorf("Parse returned a job with its errors")
	}
	return es
}

// deadRedis is a client of an address nothing listens on: Build does not
// connect, so tests that only build and process (no lookups, no writes)
// need no server.
func deadRedis(t testing.TB) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

// build builds j against deadRedis.
func build(t testing.TB, j *Job) *Built {
	t.Helper()
	b, err := j.Build(BuildConfig{Redis: deadRedis(t), Clock: stream.NewManualClock(time.Unix(0, 0))})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return b
}

// t0 is the event time the tests start at.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// play makes an input event of the base schema.
func play(j *Job, id int64, user string, track int64, at time.Time, n float64) stream.Event {
	return stream.Event{
		Key:    user,
		Time:   at.UnixNano(),
		Pos:    stream.Position{Source: "plays.csv", Partition: -1, Offset: id, Line: true},
		Schema: j.Schema,
		Fields: []stream.Value{stream.Int(id), stream.String(user), stream.Int(track), stream.Time(at), stream.Float(n)},
	}
}

// startOps starts the operators that are Starters, as a pipeline reading
// j's input would.
func startOps(t testing.TB, j *Job, ops ...stream.Operator) {
	t.Helper()
	env := stream.Env{Pipeline: j.Name, Schema: j.Schema, Schemas: []*stream.Schema{j.Schema},
		Clock: stream.NewManualClock(time.Unix(0, 0)), Config: stream.Config{OutOfOrderness: j.Lateness}}
	for _, op := range ops {
		if s, ok := op.(stream.Starter); ok {
			if err := s.Start(context.Background(), env); err != nil {
				t.Fatalf("Start %T: %v", op, err)
			}
		}
	}
}

// process runs a batch through ops, one after the other, then advances the
// watermark to wm through them (what an operator emits on the watermark
// flows through the ones after it); it returns what the last one emitted.
func process(t testing.TB, ops []stream.Operator, in []stream.Event, wm time.Time) []stream.Event {
	t.Helper()
	out, err := tryProcess(ops, in, wm)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tryProcess is process for goroutines other than the test's.
func tryProcess(ops []stream.Operator, in []stream.Event, wm time.Time) ([]stream.Event, error) {
	ctx := context.Background()
	batch := in
	for _, op := range ops {
		var out stream.Emitter
		if err := op.Process(ctx, batch, &out); err != nil {
			return nil, fmt.Errorf("Process %T: %w", op, err)
		}
		if err := op.Advance(ctx, wm.UnixNano(), &out); err != nil {
			return nil, fmt.Errorf("Advance %T: %w", op, err)
		}
		batch = append([]stream.Event(nil), out.Events()...)
	}
	return batch, nil
}

// targetsOf lists the targets and rules of emissions, "rule>target".
func targetsOf(evs []stream.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Get("rule").Text()+">"+ev.Target)
	}
	return out
}

type rulesFilterStats = rules.FilterStats

func rulesFilterConfig() rules.FilterConfig { return rules.FilterConfig{} }
