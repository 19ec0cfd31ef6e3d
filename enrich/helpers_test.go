package enrich

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

// testDB is the Redis database reserved for this package's tests.
const testDB = 1

// testClient returns a client on the test DB and a key prefix unique to
// the test; keys under it are deleted at the end.
func testClient(t testing.TB) (*redis.Client, string) {
	t.Helper()
	return testredis.Client(t, testDB)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// genFiles returns generated cust.csv and music.csv bytes.
func genFiles(t testing.TB, cfg gen.Config) (*gen.Data, []byte, []byte) {
	t.Helper()
	d := gen.Generate(cfg)
	var cust, music bytes.Buffer
	if err := gen.WriteCustomers(&cust, d.Customers); err != nil {
		t.Fatal(err)
	}
	if err := gen.WriteMusic(&music, d.Tracks); err != nil {
		t.Fatal(err)
	}
	return d, cust.Bytes(), music.Bytes()
}

// playEvents makes play events for the given customer and track ids.
func playEvents(custIDs, trackIDs []int64) []stream.Event {
	evs := make([]stream.Event, len(custIDs))
	for i := range custIDs {
		evs[i] = stream.Event{
			Key:    fmt.Sprint(custIDs[i]),
			Time:   int64(i) * int64(time.Second),
			Pos:    stream.Position{Source: "plays", Offset: int64(i + 1), Line: true},
			Schema: stream.PlaySchema,
			Fields: []stream.Value{stream.Int(int64(i)), stream.Int(custIDs[i]), stream.Int(trackIDs[i]),
				stream.TimeNanos(int64(i) * int64(time.Second)), stream.Bool(false), stream.String("12345")},
		}
	}
	return evs
}

func sharedData(t *testing.T, name string) string {
	t.Helper()
	p := "../../shared/data/" + name
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not present: %v", p, err)
	}
	return p
}
