package targets_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/targets"
)

// testDB is the Redis DB reserved for this package's tests.
const testDB = 2

// testRedis returns a client of the test Redis (RULESTREAM_TEST_REDIS) and a
// key prefix unique to the test; keys under it are deleted afterwards.
func testRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	return testredis.Client(t, testDB)
}

// emissionSchema is the default payload of a rule emission.
var emissionSchema = stream.MustSchema("emission",
	stream.Field{Name: "customer_id", Kind: stream.KindInt},
	stream.Field{Name: "track_id", Kind: stream.KindInt},
	stream.Field{Name: "event_id", Kind: stream.KindInt},
	stream.Field{Name: "rule", Kind: stream.KindString},
	stream.Field{Name: "rule_version", Kind: stream.KindString},
	stream.Field{Name: "at", Kind: stream.KindInt},
)

var smsSchema = stream.MustSchema("sms_emission",
	stream.Field{Name: "customer_id", Kind: stream.KindInt},
	stream.Field{Name: "track_id", Kind: stream.KindInt},
	stream.Field{Name: "event_id", Kind: stream.KindInt},
	stream.Field{Name: "rule", Kind: stream.KindString},
	stream.Field{Name: "rule_version", Kind: stream.KindString},
	stream.Field{Name: "at", Kind: stream.KindInt},
	stream.Field{Name: "name", Kind: stream.KindString},
	stream.Field{Name: "offer_id", Kind: stream.KindString},
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// emission builds an emission event for target of rule for event i.
func emission(target, rule string, i int) stream.Event {
	cust, track := int64(1000+i%97), int64(i%13+1)
	at := t0.Add(time.Duration(i) * time.Second)
	ev := stream.Event{
		Key:    fmt.Sprint(cust),
		Time:   at.UnixNano(),
		Schema: emissionSchema,
		Target: target,
		ID:     fmt.Sprintf("%s:%d:%d", rule, cust, i),
		Fields: []stream.Value{stream.Int(cust), stream.Int(track), stream.Int(int64(i)),
			stream.String(rule), stream.String("v1"), stream.Int(at.UnixMilli())},
	}
	if target == "sms" {
		ev.Schema = smsSchema
		ev.Fields = append(ev.Fields, stream.String(fmt.Sprintf("Customer %d", cust)), stream.String("offer-7"))
	}
	return ev
}

func deadLetter(i int) stream.Event {
	return stream.DeadLetterEvent(stream.Reject{
		Pos:    stream.Position{Source: "tracks.csv", Offset: int64(i + 2), Line: true},
		Reason: "bad datetime",
		Raw:    []byte(fmt.Sprintf("%d,x,y,not-a-date", i)),
	})
}

// markerBucket returns the marker bucket Redis's clock is in for a MarkerTTL
// of ttl, and markerKey the key of bucket b of the sink named name whose
// MarkerPrefix is px+"m:": MarkerPrefix + Name + ":" + bucket, bucket being
// Redis time over the TTL (see the write script).
func markerBucket(t testing.TB, rdb redis.UniversalClient, ttl time.Duration) int64 {
	t.Helper()
	now, err := rdb.Time(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return now.UnixMilli() / ttl.Milliseconds()
}

func markerKey(px, name string, b int64) string {
	return px + "m:" + name + ":" + strconv.FormatInt(b, 10)
}

// The demo's keys, as the music-stream job writes them.
const (
	interestKey      = "interest:{customer_id}"
	interestStream   = "queue:interest"
	adsStream        = "queue:ads"
	smsStream        = "queue:sms"
	deadLetterStream = "queue:deadletter"
)

// emissionFields are the fields the demo's streams carry; smsFields add
// what the SMS needs; deadLetterFields are stream.DeadLetterSchema's.
var (
	emissionFields   = []string{"customer_id", "track_id", "event_id", "rule", "rule_version", "at"}
	smsFields        = append(append([]string(nil), emissionFields...), "name", "offer_id")
	deadLetterFields = []string{"source", "position", "reason", "raw"}
)

// demoConfig tunes demoRouter.
type demoConfig struct {
	Prefix       string
	MaxLen       int64
	Batch        targets.BatchPolicy
	MarkerPrefix string
}

// demoRouter is the music-stream job's targets (examples/musicstream/job.yaml):
//
//	interest   → ZADD NX interest:{customer_id} track_id at(ms), and XADD queue:interest
//	ads        → XADD queue:ads   customer_id track_id event_id rule rule_version at
//	sms        → XADD queue:sms   the same plus name offer_id
//	deadletter → XADD queue:deadletter source position reason raw
func demoRouter(rdb redis.Cmdable, cfg demoConfig) (*targets.Router, error) {
	p := cfg.Prefix
	xadd := func(key string, fields []string) targets.Write {
		return targets.Write{Op: targets.OpStream, Key: p + key, Fields: fields, MaxLen: cfg.MaxLen}
	}
	return targets.NewRedisRouter(rdb, map[string][]targets.Write{
		"interest": {
			{Op: targets.OpSortedSet, Key: p + interestKey, Member: "track_id", Score: "at", NX: true},
			xadd(interestStream, emissionFields),
		},
		"ads":        {xadd(adsStream, emissionFields)},
		"sms":        {xadd(smsStream, smsFields)},
		"deadletter": {xadd(deadLetterStream, deadLetterFields)},
	}, targets.Config{Batch: cfg.Batch, MarkerPrefix: cfg.MarkerPrefix})
}
