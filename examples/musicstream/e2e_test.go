package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/stretchr/testify/require"
)

const testDB = 8

// testRedis returns the URL of the test's database on the shared test Redis
// (for -redis), a client of it and a key prefix unique to the test (for
// -prefix), whose keys are deleted when the test ends.
func testRedis(t testing.TB) (string, *redis.Client, string) {
	t.Helper()
	rdb, prefix := testredis.Client(t, testDB)
	return fmt.Sprintf("redis://%s/%d", rdb.Options().Addr, testDB), rdb, prefix
}

// testRedisOn is testRedis on backend b: on the cluster, -redis takes the
// addresses of its masters.
func testRedisOn(t testing.TB, b testredis.Backend) (string, redis.UniversalClient, string) {
	t.Helper()
	if b.Name == "single" {
		return testRedis(t)
	}
	rdb, prefix := b.Client(t, testDB)
	return b.AddrOf(t), rdb, prefix
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildBinary builds the example once per test binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "musicstream-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "musicstream")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%w: %s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binPath
}

func runBinary(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	return stdout.String()
}

// expected is the independent computation of what the example must write.
type expected struct {
	interest        map[string]map[string]float64 // customer -> track -> score (ms)
	interestEntries int
	ads             map[int64]bool  // event ids
	dead            map[string]bool // positions
}

func compute(plays []gen.Play, customers []gen.Customer) expected {
	return computeRepeats(plays, customers, 3, 30*time.Minute)
}

// computeRepeats is compute with the repeats window's count and within.
func computeRepeats(plays []gen.Play, customers []gen.Customer, count int, within time.Duration) expected {
	uniq := uniqueInOrder(plays)
	exp := expected{interest: map[string]map[string]float64{}, ads: map[int64]bool{}, dead: map[string]bool{}}
	// interest: count plays of a (customer, track) within `within`,
	// inclusive; a match consumes its plays; the zset keeps the first
	// match's time.
	buf := map[[2]int64][]time.Time{}
	for _, p := range uniq {
		k := [2]int64{p.CustomerID, p.TrackID}
		b := append(buf[k], p.Time)
		for len(b) > 0 && p.Time.Sub(b[0]) > within {
			b = b[1:]
		}
		if len(b) >= count {
			c, tr := strconv.FormatInt(p.CustomerID, 10), strconv.FormatInt(p.TrackID, 10)
			if exp.interest[c] == nil {
				exp.interest[c] = map[string]float64{}
			}
			if _, ok := exp.interest[c][tr]; !ok {
				exp.interest[c][tr] = float64(p.Time.UnixMilli())
			}
			exp.interestEntries++
			b = nil
		}
		buf[k] = b
	}
	// upgrade_ad: active customers below Gold, at most one ad per customer
	// per 24h of event time.
	byID := map[int64]gen.Customer{}
	for _, c := range customers {
		byID[c.ID] = c
	}
	for _, p := range firstPerDay(uniq, func(p gen.Play) bool {
		c, ok := byID[p.CustomerID]
		return ok && c.Level < 2 && c.Status == 1
	}) {
		exp.ads[p.EventID] = true
	}
	return exp
}

// uniqueInOrder deduplicates plays by event id and sorts them in event-time
// order (ties by event id): the order the specification takes decisions in.
func uniqueInOrder(plays []gen.Play) []gen.Play {
	seen := map[int64]bool{}
	var uniq []gen.Play
	for _, p := range plays {
		if !seen[p.EventID] {
			seen[p.EventID] = true
			uniq = append(uniq, p)
		}
	}
	slices.SortFunc(uniq, func(a, b gen.Play) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.EventID, b.EventID))
	})
	return uniq
}

// firstPerDay returns the plays of uniq (in order) a rule with eligible as
// its condition fires on under a cooldown of 24h of event time per customer.
func firstPerDay(uniq []gen.Play, eligible func(gen.Play) bool) []gen.Play {
	var fired []gen.Play
	next := map[int64]time.Time{}
	for _, p := range uniq {
		if !eligible(p) {
			continue
		}
		if n, ok := next[p.CustomerID]; ok && p.Time.Before(n) {
			continue
		}
		next[p.CustomerID] = p.Time.Add(24 * time.Hour)
		fired = append(fired, p)
	}
	return fired
}

func readStream(t *testing.T, rdb redis.UniversalClient, key string) []map[string]any {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), key, "-", "+").Result()
	require.NoError(t, err)
	out := make([]map[string]any, len(msgs))
	for i, m := range msgs {
		out[i] = m.Values
	}
	return out
}

func checkRedis(t *testing.T, rdb redis.UniversalClient, prefix string, exp expected) {
	t.Helper()
	ctx := context.Background()
	keys, err := testredis.Keys(ctx, rdb, prefix+"interest:*")
	require.NoError(t, err)
	got := map[string]map[string]float64{}
	for _, k := range keys {
		zs, err := rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		require.NoError(t, err)
		c := k[len(prefix+"interest:"):]
		got[c] = map[string]float64{}
		for _, z := range zs {
			got[c][z.Member.(string)] = z.Score
		}
	}
	require.Equal(t, exp.interest, got, "interest:<customer_id> sorted sets")
	require.Len(t, readStream(t, rdb, prefix+"queue:interest"), exp.interestEntries, "queue:interest")

	ads := map[int64]bool{}
	for _, e := range readStream(t, rdb, prefix+"queue:ads") {
		id, err := strconv.ParseInt(e["event_id"].(string), 10, 64)
		require.NoError(t, err)
		require.False(t, ads[id], "event %d advertised twice", id)
		ads[id] = true
		require.Equal(t, "upgrade_ad", e["rule"])
		for _, f := range []string{"customer_id", "track_id", "rule_version", "at"} {
			require.Contains(t, e, f)
		}
	}
	require.Equal(t, exp.ads, ads, "queue:ads")
	require.Empty(t, readStream(t, rdb, prefix+"queue:sms"), "no customer has a model prediction")

	dead := map[string]bool{}
	for _, e := range readStream(t, rdb, prefix+"queue:deadletter") {
		dead[e["position"].(string)] = true
		for _, f := range []string{"source", "reason", "raw"} {
			require.Contains(t, e, f)
		}
	}
	require.Equal(t, exp.dead, dead, "queue:deadletter")
}

func writeFile(t *testing.T, dir, name string, write func(*bytes.Buffer) error) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, write(&buf))
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	return path
}

// TestEndToEndGeneratedData runs on a single Redis and on a Redis Cluster.
func TestEndToEndGeneratedData(t *testing.T) {
	testredis.Run(t, testEndToEndGeneratedData)
}

func testEndToEndGeneratedData(t *testing.T, b testredis.Backend) {
	url, rdb, prefix := testRedisOn(t, b)
	bin := buildBinary(t)
	dir := t.TempDir()
	d := gen.Generate(gen.Config{Seed: 42, Plays: 30000, Customers: 800, Tracks: 300, MeanGap: 2 * time.Second,
		Repeats: 60, NearMisses: 30, Duplicates: 0.02, MaxDelay: 2 * time.Minute})
	exp := compute(d.Plays, d.Customers)
	require.GreaterOrEqual(t, len(exp.interest), 40, "planted patterns show up")

	// Malformed lines among the good ones: each must reach the dead-letter.
	var plays bytes.Buffer
	require.NoError(t, gen.WritePlays(&plays, d.Plays))
	lines := bytes.Split(bytes.TrimSuffix(plays.Bytes(), []byte("\n")), []byte("\n"))
	bad := [][]byte{[]byte(`1,2,3`), []byte(`x,1,1,"2014-10-01 00:00:00",0,"1"`), []byte("\xff\xfe\x00junk"), []byte(`5,5,5,"2014-13-01 00:00:00",1,"1"`)}
	var out bytes.Buffer
	playsPath := filepath.Join(dir, "plays.csv")
	for i, l := range lines {
		out.Write(l)
		out.WriteByte('\n')
		if i%7000 == 3 && len(bad) > 0 {
			out.Write(bad[0])
			out.WriteByte('\n')
			bad = bad[1:]
			exp.dead[fmt.Sprintf("%s:%d", playsPath, i+2+len(exp.dead))] = true
		}
	}
	require.NoError(t, os.WriteFile(playsPath, out.Bytes(), 0o644))
	custPath := writeFile(t, dir, "cust.csv", func(b *bytes.Buffer) error { return gen.WriteCustomers(b, d.Customers) })
	musicPath := writeFile(t, dir, "music.csv", func(b *bytes.Buffer) error { return gen.WriteMusic(b, d.Tracks) })

	args := []string{"-once", "-tracks", playsPath, "-customers", custPath, "-music", musicPath, "-redis", url, "-prefix", prefix, "-progress", "off"}
	stdout := runBinary(t, bin, args...)
	t.Log(stdout)
	require.Contains(t, stdout, "events: ")
	checkRedis(t, rdb, prefix, exp)
	n, err := rdb.HGet(context.Background(), prefix+"customer:7", "level").Result()
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(d.Customers[7].Level), n)

	// The same input again against the same Redis adds nothing.
	before := digest(t, rdb, prefix)
	runBinary(t, bin, args...)
	require.Equal(t, before, digest(t, rdb, prefix), "a second run changes nothing")
}

func TestEndToEndSharedData(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(filepath.Join(data, "tracks_live.csv")); err != nil {
		t.Skip("../shared/data not present")
	}
	url, rdb, prefix := testRedis(t)
	bin := buildBinary(t)
	// The file is unordered over three months: a lateness covering that
	// makes every play count.
	stdout := runBinary(t, bin, "-once", "-lateness", "2400h", "-tracks", filepath.Join(data, "tracks_live.csv"),
		"-customers", filepath.Join(data, "cust.csv"), "-music", filepath.Join(data, "music.csv"),
		"-redis", url, "-prefix", prefix, "-progress", "off")
	require.Contains(t, stdout, "events: 3474 in, 792 duplicates dropped, 0 dead-lettered, 0 late")

	plays, customers := readSharedPlays(t, filepath.Join(data, "tracks_live.csv")), readSharedCustomers(t, filepath.Join(data, "cust.csv"))
	exp := compute(plays, customers)
	require.Empty(t, exp.interest, "the demo's data has no 3 plays of a track within 30 minutes")
	checkRedis(t, rdb, prefix, exp)
}

// digest summarises every key under prefix, stream ids aside.
func digest(t *testing.T, rdb redis.UniversalClient, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	keys, err := testredis.Keys(ctx, rdb, prefix+"*")
	require.NoError(t, err)
	for _, k := range keys {
		typ, err := rdb.Type(ctx, k).Result()
		require.NoError(t, err)
		switch typ {
		case "stream":
			out[k] = fmt.Sprint(readStream(t, rdb, k))
		case "zset":
			z, err := rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
			require.NoError(t, err)
			out[k] = fmt.Sprint(z)
		case "hash":
			h, err := rdb.HGetAll(ctx, k).Result()
			require.NoError(t, err)
			out[k] = fmt.Sprint(h)
		default:
			out[k] = typ
		}
	}
	return out
}
