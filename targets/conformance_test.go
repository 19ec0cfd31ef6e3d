package targets_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
	"github.com/rulestream/rulestream/targets/targettest"
)

// failHook makes the next n pipelines fail before they reach Redis, the way
// a dropped connection does.
type failHook struct{ n atomic.Int64 }

func (h *failHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *failHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return next
}
func (h *failHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.n.Add(-1) >= 0 {
			err := &net.OpError{Op: "write", Net: "tcp", Err: errors.New("injected failure")}
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		h.n.Store(0)
		return next(ctx, cmds)
	}
}

// fastRetry retries at once (the injected failures need no waiting).
var fastRetry = targets.Backoff{Sleep: func(context.Context, time.Duration) error { return nil }}

func redisHarness(t *testing.T, b testredis.Backend, op targets.Op) targettest.Harness {
	base, px := b.Client(t, testDB)
	rdb := b.Open(t, testDB)
	hook := &failHook{}
	rdb.AddHook(hook)
	w := targets.Write{Op: op, Key: px + "out", IDField: "id"}
	if op == targets.OpList {
		w.IDField = ""
		w.Fields = []string{"user_id", "seq", "rule", "at"}
	}
	s, err := targets.NewRedis(rdb, targets.Config{Writes: []targets.Write{w}, MarkerPrefix: px + "m:",
		Batch: targets.BatchPolicy{Count: 16}, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	read := func(ctx context.Context) ([]targettest.Record, error) {
		if op == targets.OpList {
			return readList(ctx, base, px+"out")
		}
		xs, err := base.XRange(ctx, px+"out", "-", "+").Result()
		var recs []targettest.Record
		for _, x := range xs {
			f := map[string]string{}
			for k, v := range x.Values {
				f[k] = v.(string)
			}
			recs = append(recs, targettest.Record{ID: f["id"], Fields: f})
		}
		return recs, err
	}
	return targettest.Harness{Sink: s, Read: read, Fail: func(n int) { hook.n.Store(int64(n)) },
		Ordered: true, Idempotent: true}
}

// readList reads an LPUSHed list oldest first; the JSON track_id is the
// suite's event index.
func readList(ctx context.Context, rdb redis.UniversalClient, key string) ([]targettest.Record, error) {
	vals, err := rdb.LRange(ctx, key, 0, -1).Result()
	var recs []targettest.Record
	for i := len(vals) - 1; i >= 0; i-- {
		var m map[string]any
		if err := json.Unmarshal([]byte(vals[i]), &m); err != nil {
			return nil, err
		}
		f := map[string]string{}
		for k, v := range m {
			if n, ok := v.(float64); ok {
				f[k] = itoa(int(n))
			} else {
				f[k] = v.(string)
			}
		}
		recs = append(recs, targettest.Record{ID: "conf:" + f["seq"], Fields: f})
	}
	return recs, err
}

// The Redis sinks pass the suite on a single Redis and on a Redis Cluster.

func TestConformanceRedisStream(t *testing.T) {
	testredis.Run(t, func(t *testing.T, b testredis.Backend) {
		targettest.Run(t, func(t *testing.T) targettest.Harness { return redisHarness(t, b, targets.OpStream) })
	})
}

func TestConformanceRedisList(t *testing.T) {
	testredis.Run(t, func(t *testing.T, b testredis.Backend) {
		targettest.Run(t, func(t *testing.T) targettest.Harness { return redisHarness(t, b, targets.OpList) })
	})
}

func TestConformanceRouter(t *testing.T) {
	testredis.Run(t, func(t *testing.T, b testredis.Backend) {
		targettest.Run(t, func(t *testing.T) targettest.Harness {
			h := redisHarness(t, b, targets.OpStream)
			r, err := targets.NewRouter(targets.RouterConfig{Routes: map[string][]stream.Sink{"ads": {h.Sink}}})
			if err != nil {
				t.Fatal(err)
			}
			h.Sink = r
			return h
		})
	})
}

func TestConformanceMemory(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Harness {
		m := targets.NewMemory()
		read := func(context.Context) ([]targettest.Record, error) {
			var recs []targettest.Record
			for _, ev := range m.Events("") {
				f := map[string]string{}
				for i, v := range ev.Fields {
					f[ev.Schema.Field(i).Name] = v.Text()
				}
				recs = append(recs, targettest.Record{ID: ev.ID, Fields: f})
			}
			return recs, nil
		}
		return targettest.Harness{Sink: m, Read: read, Ordered: true, Idempotent: true}
	})
}

// failingPublisher fails the next n Publish calls.
type failingPublisher struct {
	message.Publisher
	n atomic.Int64
}

func (p *failingPublisher) Publish(topic string, msgs ...*message.Message) error {
	if p.n.Add(-1) >= 0 {
		return errors.New("injected publish failure")
	}
	p.n.Store(0)
	return p.Publisher.Publish(topic, msgs...)
}

func TestConformanceWatermill(t *testing.T) {
	targettest.Run(t, func(t *testing.T) targettest.Harness {
		gc := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, watermill.NopLogger{})
		t.Cleanup(func() { _ = gc.Close() })
		msgs, err := gc.Subscribe(context.Background(), "ads")
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var recs []targettest.Record
		go func() {
			for m := range msgs {
				var f map[string]any
				_ = json.Unmarshal(m.Payload, &f)
				fs := map[string]string{}
				for k, v := range f {
					if n, ok := v.(float64); ok {
						fs[k] = itoa(int(n))
					} else {
						fs[k], _ = v.(string)
					}
				}
				mu.Lock()
				recs = append(recs, targettest.Record{ID: m.UUID, Fields: fs})
				mu.Unlock()
				m.Ack()
			}
		}()
		pub := &failingPublisher{Publisher: gc}
		s, err := targets.NewWatermill(pub, targets.WatermillConfig{Batch: targets.BatchPolicy{Count: 16}, Retry: fastRetry})
		if err != nil {
			t.Fatal(err)
		}
		read := func(context.Context) ([]targettest.Record, error) {
			mu.Lock()
			defer mu.Unlock()
			return append([]targettest.Record(nil), recs...), nil
		}
		return targettest.Harness{Sink: s, Read: read, Fail: func(n int) { pub.n.Store(int64(n)) }, Ordered: true}
	})
}
