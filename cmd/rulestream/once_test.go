package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/internal/testredis"
)

// A bounded run of examples/logins/job.yaml on its data, plus malformed
// lines and a late login: the summary's numbers and every target equal an
// independent computation; on a single Redis and on a Redis Cluster.
func TestOnceLogins(t *testing.T) {
	testredis.Run(t, testOnceLogins)
}

func testOnceLogins(t *testing.T, b testredis.Backend) {
	rdb, url, prefix := testRedisOn(t, b)
	ctx := context.Background()
	ls := readLogins(t, filepath.Join(loginsDir, "data", "logins.jsonl"))
	want := computeLogins(ls, adminsWithoutMFA(readAccounts(t)))
	require.NotEmpty(t, want.alerts)
	require.NotEmpty(t, want.audit)
	require.NotEmpty(t, want.spikes)
	require.NotZero(t, want.duplicates)
	require.GreaterOrEqual(t, want.failureMatches, len(want.alerts))

	// The input: the sample, three malformed lines among it and, at the
	// end, a login as old as the first one (far behind the watermark).
	path := filepath.Join(t.TempDir(), "logins.jsonl")
	bad := map[int]string{
		1000: `not json`,
		2000: `{"login_id": "x", "user": "u001", "ip": "10.0.0.1", "country": "fr", "ok": true, "time": "2026-10-01T00:00:00Z"}`,
		3000: `{"login_id": 900000, "user": "u001", "ip": "10.0.0.1", "country": "fr", "ok": true}`,
	}
	dead := map[string]bool{}
	var in bytes.Buffer
	n := 0
	for _, l := range ls {
		if b, ok := bad[n+1]; ok {
			in.WriteString(b + "\n")
			n++
			dead[fmt.Sprintf("%s:%d", path, n)] = true
		}
		in.Write(l.raw)
		in.WriteByte('\n')
		n++
	}
	late := fmt.Sprintf(`{"login_id": 900001, "user": "u000", "ip": "10.0.0.1", "country": "fr", "ok": false, "time": %q}`,
		ls[0].Time.Format("2006-01-02T15:04:05Z07:00"))
	in.WriteString(late + "\n")
	require.NoError(t, os.WriteFile(path, in.Bytes(), 0o644))

	o := newOptions(filepath.Join(loginsDir, "job.yaml"), url, prefix)
	o.input, o.once, o.parallelism = path, true, 4
	stdout, stderr, err := runJob(t, o)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	t.Log(stdout)

	requireLine(t, stdout, "job logins: dedup → account → [failures | hourly_failures | events] → rules")
	require.Regexp(t, `(?m)^`+regexp.QuoteMeta(filepath.Join(loginsDir, "data", "accounts.csv"))+`: loaded 300, skipped 0, recovered 0, \d+\.\d\ds$`, stdout)
	requireLine(t, stdout, fmt.Sprintf("events: %d in, %d duplicates dropped, 3 dead-lettered, 1 late", want.in+1, want.duplicates))
	requireLine(t, stdout, fmt.Sprintf("window failures: %d results, 0 evictions", want.failureMatches))
	requireLine(t, stdout, fmt.Sprintf("window hourly_failures: %d results, 0 evictions", want.hours))
	requireLine(t, stdout, fmt.Sprintf("rules: admin_without_mfa=%d brute_force=%d failure_spike=%d",
		want.auditCount(), len(want.alerts), len(want.spikes)))
	requireLine(t, stdout, "watermark: end, 0 checkpoints")
	require.Regexp(t, `(?m)^time: \d+\.\d\ds \(\d+ events/s\)$`, stdout)
	// The lines come in this order, the summary last.
	var order []string
	for _, l := range lines(stdout) {
		order = append(order, strings.Fields(l)[0])
	}
	require.Equal(t, "job", order[0])
	i := len(order) - 1
	require.Equal(t, "time:", order[i])
	require.Equal(t, "watermark:", order[i-1])
	require.Contains(t, stderr, `msg="one lane per partition" why="window hourly_failures is not keyed by the input's key field user"`)

	got := readLoginTargets(t, rdb, prefix)
	requirePerUser(t, want, got)
	require.Equal(t, want.alerts, got.alerts, "security:alerts, in event-time order")
	require.Equal(t, want.spikes, got.spikes, "spike hashes")

	dl, err := rdb.XRange(ctx, prefix+"security:deadletter", "-", "+").Result()
	require.NoError(t, err)
	gotDead := map[string]bool{}
	for _, m := range dl {
		gotDead[m.Values["position"].(string)] = true
		require.NotEmpty(t, m.Values["reason"])
		require.Equal(t, bad[lineOf(t, m.Values["position"].(string))], m.Values["raw"])
	}
	require.Equal(t, dead, gotDead, "security:deadletter")
	lateEntries, err := rdb.XRange(ctx, prefix+"security:late", "-", "+").Result()
	require.NoError(t, err)
	require.Len(t, lateEntries, 1, "security:late")
	require.Equal(t, "900001", lateEntries[0].Values["login_id"])
	require.NotEmpty(t, lateEntries[0].Values["late_by_ms"])

	// The reference data was loaded under the prefix.
	acct, err := rdb.HGetAll(ctx, prefix+"account:u001").Result()
	require.NoError(t, err)
	require.Equal(t, map[string]string{"user": "u001", "plan": "free", "admin": "0", "mfa": "0"}, acct)

	// A second run over the same input writes nothing twice.
	before := targetsDigest(t, rdb, prefix)
	stdout, stderr, err = runJob(t, o)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Equal(t, before, targetsDigest(t, rdb, prefix), "a replay changed the targets")
}

// lineOf returns the line number of a position "file:line".
func lineOf(t *testing.T, pos string) int {
	t.Helper()
	var n int
	_, err := fmt.Sscan(pos[strings.LastIndexByte(pos, ':')+1:], &n)
	require.NoError(t, err, pos)
	return n
}

// targetsDigest describes every key under prefix but the idempotency
// markers and checkpoints: its type and content (stream entries by their
// fields, sorted; sets sorted; lists in their order).
func targetsDigest(t *testing.T, rdb redis.UniversalClient, prefix string) map[string]string {
	t.Helper()
	return digestTargets(t, rdb, prefix, false)
}

// targetsMultiset is targetsDigest with each list's elements sorted: what
// was pushed, not in which order (per-event rules fire in arrival order,
// which is not the files' order when a glob's files are read concurrently).
func targetsMultiset(t *testing.T, rdb redis.UniversalClient, prefix string) map[string]string {
	t.Helper()
	return digestTargets(t, rdb, prefix, true)
}

func digestTargets(t *testing.T, rdb redis.UniversalClient, prefix string, sortLists bool) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for _, k := range keysUnder(t, rdb, prefix) {
		if strings.HasPrefix(k, "rulestream:") || strings.HasPrefix(k, "checkpoint:") {
			continue
		}
		var v any
		var err error
		typ := rdb.Type(ctx, prefix+k).Val()
		switch typ {
		case "stream":
			var msgs []redis.XMessage
			msgs, err = rdb.XRange(ctx, prefix+k, "-", "+").Result()
			var entries []string
			for _, m := range msgs {
				entries = append(entries, fmt.Sprint(m.Values))
			}
			slices.Sort(entries) // several sources interleave their entries
			v = entries
		case "list":
			var items []string
			items, err = rdb.LRange(ctx, prefix+k, 0, -1).Result()
			if sortLists {
				slices.Sort(items)
			}
			v = items
		case "set":
			var ms []string
			ms, err = rdb.SMembers(ctx, prefix+k).Result()
			slices.Sort(ms)
			v = ms
		case "hash":
			v, err = rdb.HGetAll(ctx, prefix+k).Result()
		case "zset":
			v, err = rdb.ZRangeWithScores(ctx, prefix+k, 0, -1).Result()
		}
		require.NoError(t, err, k)
		out[k] = typ + " " + fmt.Sprint(v)
	}
	return out
}
