package main

import (
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testRedis returns a client of RULESTREAM_TEST_REDIS; without it the test
// is skipped, or fails under CI=true.
func testRedis(t testing.TB) *redis.Client {
	t.Helper()
	addr := os.Getenv("RULESTREAM_TEST_REDIS")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("RULESTREAM_TEST_REDIS is not set (CI=true): a real redis-server is required")
		}
		t.Skip("RULESTREAM_TEST_REDIS is not set: skipping (needs a real redis-server)")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func uniquePrefix(t *testing.T) string {
	return "benchcompare:" + t.Name() + ":" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
}

// TestBaselineMatchesLibrary runs both sides on 20k plays and requires the
// same Redis results, and that both found the planted patterns.
func TestBaselineMatchesLibrary(t *testing.T) {
	rdb := testRedis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	in, err := generate(20000, 7)
	if err != nil {
		t.Fatal(err)
	}
	o := &options{prefix: uniquePrefix(t)}
	var out strings.Builder
	c, err := compareBaseline(ctx, o, rdb, in, &out)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !c.identical {
		t.Fatal("results differ")
	}
	ads, interest := c.lib["queue:ads"], c.lib["queue:interest"]
	if len(ads) == 0 || len(c.lib["queue:sms"]) == 0 {
		t.Fatalf("no ads or sms written: %s", c.lib.summary())
	}
	if len(interest) < len(in.data.Planted) {
		t.Fatalf("%d interest emissions, want at least the %d planted patterns", len(interest), len(in.data.Planted))
	}
	for _, pat := range in.data.Planted {
		key := "interest:" + strconv.FormatInt(pat.CustomerID, 10)
		want := strconv.FormatInt(pat.TrackID, 10) + " "
		found := false
		for _, l := range c.lib[key] {
			found = found || strings.HasPrefix(l, want)
		}
		if !found {
			t.Errorf("planted pattern %d/%d missing from %s", pat.CustomerID, pat.TrackID, key)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "ratio: ") {
		t.Errorf("last line %q, want ratio: N.N", last)
	}
}

// TestDigestSeesDifferences makes sure a changed entry changes the digest.
func TestDigestSeesDifferences(t *testing.T) {
	a := results{"queue:ads": {"at=1 event_id=2"}, "interest:1": {"5 1000"}}
	b := results{"queue:ads": {"at=1 event_id=3"}, "interest:1": {"5 1000"}}
	if a.digest() == b.digest() {
		t.Fatal("different results, same digest")
	}
	if d := diff(a, b, "a", "b", 10); len(d) != 2 {
		t.Fatalf("diff = %q", d)
	}
	if d := diff(a, a, "a", "a", 10); len(d) != 0 {
		t.Fatalf("diff of equal results = %q", d)
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{}, {"-redis", "x", "-peer", "spark"}, {"-redis", "x", "-events", "0"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
