package enrich

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream"
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

// The tests' reference tables: the generator's (and the shared data's)
// cust.csv and music.csv as hashes customer:<id> and track:<id>.
var (
	custTable = Table{Name: "customer", Key: "customer:{id}", Columns: []Column{
		{Header: "CustID", Field: "id", Kind: stream.KindInt}, {Header: "Name", Field: "name"},
		{Header: "Gender", Field: "gender", Kind: stream.KindInt}, {Header: "Address", Field: "address"},
		{Header: "zip"}, {Header: "SignDate", Field: "sign_date", Convert: usDate},
		{Header: "Status", Field: "status", Kind: stream.KindInt}, {Header: "Level", Field: "level", Kind: stream.KindInt},
		{Header: "Campaign", Field: "campaign", Kind: stream.KindInt},
		{Header: "LinkedWithApps", Field: "linked_with_apps", Kind: stream.KindInt},
	}}
	trackTable = Table{Name: "track", Key: "track:{id}", Columns: []Column{
		{Header: "TrackId", Field: "id", Kind: stream.KindInt}, {Header: "Title", Field: "title"},
		{Header: "Artist", Field: "artist"}, {Header: "Length", Field: "length", Kind: stream.KindInt},
	}}
)

// usDate rewrites MM/DD/YYYY as YYYY-MM-DD.
func usDate(s string) (string, error) {
	t, err := time.Parse("01/02/2006", s)
	if err != nil {
		return "", fmt.Errorf("%q is not a date MM/DD/YYYY", s)
	}
	return t.Format(time.DateOnly), nil
}

// customerLookup and trackLookup join the records loaded from custTable
// and trackTable onto play events.
func customerLookup(prefix string) LookupConfig {
	return LookupConfig{Name: "customer", Key: prefix + "customer:{customer_id}", Schema: gen.CustomerSchema}
}

func trackLookup(prefix string) LookupConfig {
	return LookupConfig{Name: "track", Key: prefix + "track:{track_id}", Schema: gen.TrackSchema}
}

// playEvents makes play events for the given customer and track ids.
func playEvents(custIDs, trackIDs []int64) []stream.Event {
	evs := make([]stream.Event, len(custIDs))
	for i := range custIDs {
		evs[i] = stream.Event{
			Key:    fmt.Sprint(custIDs[i]),
			Time:   int64(i) * int64(time.Second),
			Pos:    stream.Position{Source: "plays", Offset: int64(i + 1), Line: true},
			Schema: gen.PlaySchema,
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
