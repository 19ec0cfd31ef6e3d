package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/internal/testredis"
)

// testDB is the database of the shared test Redis these tests use (each
// test has its own key prefix in it).
const testDB = 11

// syncBuffer is an output safe to read while run writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testRedis returns a client of the shared test Redis, the -redis URL of
// the same database and a key prefix unique to the test.
func testRedis(t *testing.T) (*redis.Client, string, string) {
	t.Helper()
	rdb, prefix := testredis.Client(t, testDB)
	return rdb, fmt.Sprintf("redis://%s/%d", rdb.Options().Addr, rdb.Options().DB), prefix
}

// testRedisOn is testRedis on backend b: on the cluster, -redis takes the
// addresses of its masters.
func testRedisOn(t *testing.T, b testredis.Backend) (redis.UniversalClient, string, string) {
	t.Helper()
	if b.Name == "single" {
		return testRedis(t)
	}
	rdb, prefix := b.Client(t, testDB)
	return rdb, b.AddrOf(t), prefix
}

// newOptions are the options of a run of jobPath against Redis url under
// prefix, as the flags would make them (-progress off).
func newOptions(jobPath, url, prefix string) *options {
	return &options{job: jobPath, redis: url, prefix: prefix, parallelism: 1, progress: "off",
		checkpointEvery: 100 * time.Millisecond, sessionTimeout: time.Second, sort: "auto", memory: "auto"}
}

// runJob runs o to its end (bounded by a deadline well within the test
// timeout) and returns its stdout and stderr.
func runJob(t *testing.T, o *options) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	err = run(ctx, o, &out, &errOut)
	require.NoError(t, ctx.Err(), "run did not end within its deadline\nstdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	return out.String(), errOut.String(), err
}

// lines splits output into its lines.
func lines(s string) []string {
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// requireLine fails unless out holds want as a whole line.
func requireLine(t *testing.T, out, want string) {
	t.Helper()
	require.Contains(t, lines(out), want, "no line %q in the output:\n%s", want, out)
}

// keysUnder lists the keys under prefix, prefix removed, sorted; the
// checkpoints' fencing epochs (key:epoch) are left out.
func keysUnder(t *testing.T, rdb redis.UniversalClient, prefix string) []string {
	t.Helper()
	all, err := testredis.Keys(context.Background(), rdb, prefix+"*") // every master of a cluster
	require.NoError(t, err)
	var keys []string
	for _, k := range all {
		if strings.HasSuffix(k, ":epoch") { // a checkpoint's fencing epoch
			continue
		}
		keys = append(keys, strings.TrimPrefix(k, prefix))
	}
	slices.Sort(keys)
	return keys
}

// writeAtomic replaces path's content the way editors save: a new file
// renamed over the old one, so that a watcher sees one change with the
// whole content.
func writeAtomic(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o644))
	require.NoError(t, os.Rename(tmp, path))
}

// loginsDir is the login example, whose job file and data several tests
// run.
var loginsDir = filepath.Join("..", "..", "examples", "logins")

// login is a login as the tests read it from the JSON lines, apart from
// the code under test.
type login struct {
	ID      int64     `json:"login_id"`
	User    string    `json:"user"`
	IP      string    `json:"ip"`
	Country string    `json:"country"`
	OK      bool      `json:"ok"`
	Time    time.Time `json:"time"`
	raw     []byte
}

func readLogins(t *testing.T, path string) []login {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var ls []login
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		var l login
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		l.raw = slices.Clone(sc.Bytes())
		ls = append(ls, l)
	}
	require.NoError(t, sc.Err())
	return ls
}

// account is a row of the login example's accounts.csv.
type account struct{ user, plan, admin, mfa string }

func readAccounts(t *testing.T) []account {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(loginsDir, "data", "accounts.csv"))
	require.NoError(t, err)
	rows := strings.Split(strings.TrimSpace(string(raw)), "\n")
	require.Equal(t, "user,plan,admin,mfa", rows[0])
	var as []account
	for _, row := range rows[1:] {
		f := strings.Split(row, ",")
		require.Len(t, f, 4, row)
		as = append(as, account{f[0], f[1], f[2], f[3]})
	}
	return as
}

// adminsWithoutMFA are the users whose account is an admin's without MFA.
func adminsWithoutMFA(as []account) map[string]bool {
	m := map[string]bool{}
	for _, a := range as {
		m[a.user] = a.admin == "1" && a.mfa == "0"
	}
	return m
}

type alert struct {
	user, ip  string
	id        int64
	first, at time.Time
}

// loginsWant is what the login job should do with some logins.
type loginsWant struct {
	in, duplicates int
	// failureMatches are the failures window's results (5 failures of a
	// user within 10 minutes), before the rule's cooldown.
	failureMatches int
	// hours are the hourly_failures window's results: the (country, hour)
	// pairs with a failure.
	hours  int
	alerts []alert
	audit  map[string][]string // user -> login ids
	spikes map[string][2]int   // spike:<country>:<hour> -> failed, users
}

func (w loginsWant) auditCount() int {
	n := 0
	for _, ids := range w.audit {
		n += len(ids)
	}
	return n
}

// computeLogins is the login job's answer, written plainly: dedup by
// login_id, then each rule in event-time order.
func computeLogins(ls []login, admins map[string]bool) loginsWant {
	want := loginsWant{in: len(ls), audit: map[string][]string{}, spikes: map[string][2]int{}}
	seen := map[int64]bool{}
	var uniq []login
	for _, l := range ls {
		if seen[l.ID] {
			want.duplicates++
			continue
		}
		seen[l.ID] = true
		uniq = append(uniq, l)
	}
	slices.SortStableFunc(uniq, func(a, b login) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	// brute_force: 5 failures of a user within 10 minutes (inclusive), a
	// match consuming its failures; at most one alert per user per hour.
	buf := map[string][]login{}
	next := map[string]time.Time{}
	type hour struct {
		country string
		start   time.Time
	}
	failed := map[hour]map[string]int{}
	for _, l := range uniq {
		if l.OK {
			if admins[l.User] {
				want.audit[l.User] = append(want.audit[l.User], fmt.Sprint(l.ID))
			}
			continue
		}
		h := hour{l.Country, l.Time.Truncate(time.Hour)}
		if failed[h] == nil {
			failed[h] = map[string]int{}
		}
		failed[h][l.User]++
		b := append(buf[l.User], l)
		for len(b) > 0 && l.Time.Sub(b[0].Time) > 10*time.Minute {
			b = b[1:]
		}
		if len(b) >= 5 {
			want.failureMatches++
			if n, ok := next[l.User]; !ok || !l.Time.Before(n) {
				next[l.User] = l.Time.Add(time.Hour)
				want.alerts = append(want.alerts, alert{user: l.User, ip: l.IP, id: l.ID, first: b[0].Time, at: l.Time})
			}
			b = nil
		}
		buf[l.User] = b
	}
	want.hours = len(failed)
	for h, users := range failed {
		n := 0
		for _, c := range users {
			n += c
		}
		if n >= 20 {
			want.spikes["spike:"+h.country+":"+h.start.Format(time.RFC3339)] = [2]int{n, len(users)}
		}
	}
	return want
}

// sortAlerts orders alerts by time, then user.
func sortAlerts(as []alert) {
	slices.SortFunc(as, func(a, b alert) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.user, b.user)
	})
}

// loginsGot is what the login job wrote under a prefix.
type loginsGot struct {
	alerts  []alert
	flagged []string
	audit   map[string][]string
	spikes  map[string][2]int
}

func readLoginTargets(t *testing.T, rdb redis.UniversalClient, prefix string) loginsGot {
	t.Helper()
	ctx := context.Background()
	got := loginsGot{audit: map[string][]string{}, spikes: map[string][2]int{}}
	msgs, err := rdb.XRange(ctx, prefix+"security:alerts", "-", "+").Result()
	require.NoError(t, err)
	for _, m := range msgs {
		v := m.Values
		require.Equal(t, "brute_force", v["kind"], "%v", v)
		var id, at int64
		_, err := fmt.Sscan(v["login_id"].(string), &id)
		require.NoError(t, err)
		_, err = fmt.Sscan(v["at"].(string), &at)
		require.NoError(t, err)
		first, err := time.Parse(time.RFC3339Nano, v["first_failure"].(string))
		require.NoError(t, err)
		got.alerts = append(got.alerts, alert{user: v["user"].(string), ip: v["ip"].(string), id: id, first: first.UTC(), at: time.UnixMilli(at).UTC()})
	}
	got.flagged, err = rdb.SMembers(ctx, prefix+"security:flagged").Result()
	require.NoError(t, err)
	slices.Sort(got.flagged)
	for _, k := range keysUnder(t, rdb, prefix+"audit:") {
		items, err := rdb.LRange(ctx, prefix+"audit:"+k, 0, -1).Result()
		require.NoError(t, err)
		var ids []string
		for _, it := range items {
			var e map[string]any
			require.NoError(t, json.Unmarshal([]byte(it), &e), it)
			require.Contains(t, e, "ip")
			require.Contains(t, e, "time")
			ids = append(ids, fmt.Sprint(e["login_id"]))
		}
		slices.Sort(ids)
		got.audit[k] = ids
	}
	for _, k := range keysUnder(t, rdb, prefix+"spike:") {
		h, err := rdb.HGetAll(ctx, prefix+"spike:"+k).Result()
		require.NoError(t, err)
		var f, u int
		_, err = fmt.Sscan(h["failed"], &f)
		require.NoError(t, err)
		_, err = fmt.Sscan(h["users"], &u)
		require.NoError(t, err)
		got.spikes["spike:"+k] = [2]int{f, u}
	}
	return got
}

// requirePerUser checks the per-user targets (alerts, flagged users, audit
// lists) against want.
func requirePerUser(t *testing.T, want loginsWant, got loginsGot) {
	t.Helper()
	wantAlerts := slices.Clone(want.alerts)
	gotAlerts := slices.Clone(got.alerts)
	sortAlerts(wantAlerts)
	sortAlerts(gotAlerts)
	require.Equal(t, wantAlerts, gotAlerts, "security:alerts")
	var users []string
	for _, a := range want.alerts {
		users = append(users, a.user)
	}
	slices.Sort(users)
	require.Equal(t, slices.Compact(users), got.flagged, "security:flagged")
	wantAudit := map[string][]string{}
	for u, ids := range want.audit {
		wantAudit[u] = slices.Sorted(slices.Values(ids))
	}
	require.Equal(t, wantAudit, got.audit, "audit lists")
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
}
