package targettest

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// Record is one stored emission read back from a sink.
type Record struct {
	ID     string
	Fields map[string]string
}

// Harness is a sink under test.
type Harness struct {
	// Sink is a fresh sink that accepts events of Target.
	Sink stream.Sink
	// Read returns every record stored so far, in storage order.
	Read func(ctx context.Context) ([]Record, error)
	// Fail, if set, makes the next n write attempts fail; the sink must be
	// configured to retry them (with a short backoff).
	Fail func(n int)
	// Ordered: records come back in the order they were written.
	Ordered bool
	// Idempotent: an ID written twice is stored once.
	Idempotent bool
	// Target is the Target of the suite's events (default "ads").
	Target string
}

// Schema is the payload of the suite's events.
var Schema = stream.MustSchema("conformance",
	stream.Field{Name: "user_id", Kind: stream.KindInt},
	stream.Field{Name: "seq", Kind: stream.KindInt},
	stream.Field{Name: "rule", Kind: stream.KindString},
	stream.Field{Name: "at", Kind: stream.KindInt},
)

// Event returns the suite's i-th event for target.
func Event(target string, i int) stream.Event {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
	return stream.Event{
		Key: strconv.Itoa(100 + i%7), Time: at.UnixNano(), Schema: Schema, Target: target,
		ID: fmt.Sprintf("conf:%d", i),
		Fields: []stream.Value{stream.Int(int64(100 + i%7)), stream.Int(int64(i)),
			stream.String("rule \"q\" é"), stream.Int(at.UnixMilli())},
	}
}

// Expected returns the text of the fields of Event(target, i).
func Expected(i int) map[string]string {
	ev := Event("", i)
	m := map[string]string{}
	for j, v := range ev.Fields {
		m[Schema.Field(j).Name] = v.Text()
	}
	return m
}

// Run runs the suite; newSink is called once per subtest.
func Run(t *testing.T, newSink func(t *testing.T) Harness) {
	t.Run("WriteFlushRead", func(t *testing.T) { testWriteFlush(t, newSink(t)) })
	t.Run("Idempotency", func(t *testing.T) { testIdempotency(t, newSink(t)) })
	t.Run("RetryOnFailure", func(t *testing.T) { testRetry(t, newSink(t)) })
	t.Run("CloseFlushesAndRefuses", func(t *testing.T) { testClose(t, newSink(t)) })
}
