package logins_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/examples/logins/logingen"
	"github.com/rulestream/rulestream/internal/testredis"
)

// The committed sample data is the generator's.
func TestSampleDataIsGenerated(t *testing.T) {
	d := logingen.Generate(logingen.Sample)
	var logins, accounts bytes.Buffer
	require.NoError(t, logingen.WriteLogins(&logins, d.Logins))
	require.NoError(t, logingen.WriteAccounts(&accounts, d.Accounts))
	for name, want := range map[string][]byte{"logins.jsonl": logins.Bytes(), "accounts.csv": accounts.Bytes()} {
		got, err := os.ReadFile(filepath.Join("data", name))
		require.NoError(t, err)
		require.True(t, bytes.Equal(want, got), "data/%s differs from the generator's: go run ./examples/logins/data/generate.go examples/logins/data", name)
	}
}

func buildRunner(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rulestream")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/rulestream").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// login is a login as the test reads it back from the JSON lines, apart
// from the code under test.
type login struct {
	ID      int64     `json:"login_id"`
	User    string    `json:"user"`
	IP      string    `json:"ip"`
	Country string    `json:"country"`
	OK      bool      `json:"ok"`
	Time    time.Time `json:"time"`
}

type alert struct {
	user, ip  string
	id        int64
	first, at time.Time
}

type expected struct {
	alerts []alert
	audit  map[string][]string // user -> login ids
	spikes map[string][2]int   // spike:<country>:<hour> -> failed, users
}

// compute is the job's answer, written plainly: dedup by login_id, then
// per rule.
func compute(ls []login, admins map[string]bool) expected {
	seen := map[int64]bool{}
	var uniq []login
	for _, l := range ls {
		if !seen[l.ID] {
			seen[l.ID] = true
			uniq = append(uniq, l)
		}
	}
	slices.SortFunc(uniq, func(a, b login) int { return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID)) })
	exp := expected{audit: map[string][]string{}, spikes: map[string][2]int{}}
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
				exp.audit[l.User] = append(exp.audit[l.User], strconv.FormatInt(l.ID, 10))
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
			if n, ok := next[l.User]; !ok || !l.Time.Before(n) {
				next[l.User] = l.Time.Add(time.Hour)
				exp.alerts = append(exp.alerts, alert{user: l.User, ip: l.IP, id: l.ID, first: b[0].Time, at: l.Time})
			}
			b = nil
		}
		buf[l.User] = b
	}
	for h, users := range failed {
		n := 0
		for _, c := range users {
			n += c
		}
		if n >= 20 {
			exp.spikes["spike:"+h.country+":"+h.start.Format(time.RFC3339)] = [2]int{n, len(users)}
		}
	}
	return exp
}

// The login job, run by cmd/rulestream on its JSON lines (plus malformed
// lines), writes what compute says to every target.
func TestLoginJob(t *testing.T) {
	rdb, prefix := testredis.Client(t, 9)
	ctx := context.Background()
	raw, err := os.ReadFile("data/logins.jsonl")
	require.NoError(t, err)
	var ls []login
	var in bytes.Buffer
	bad := []string{`{"login_id": 1, "user": "u1"`, `{"login_id": "x", "user": "u1", "time": "2026-10-01T00:00:00Z"}`, `not json`}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	n := 0
	dead := map[string]bool{}
	path := filepath.Join(t.TempDir(), "logins.jsonl")
	for sc.Scan() {
		var l login
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		ls = append(ls, l)
		in.Write(sc.Bytes())
		in.WriteByte('\n')
		n++
		if n%3000 == 0 && len(bad) > 0 {
			in.WriteString(bad[0] + "\n")
			n++
			dead[fmt.Sprintf("%s:%d", path, n)] = true
			bad = bad[1:]
		}
	}
	require.NoError(t, os.WriteFile(path, in.Bytes(), 0o644))
	admins := map[string]bool{}
	accts, err := os.ReadFile("data/accounts.csv")
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(accts)), "\n")[1:] {
		f := strings.Split(line, ",")
		admins[f[0]] = f[2] == "1" && f[3] == "0"
	}
	exp := compute(ls, admins)
	require.NotEmpty(t, exp.alerts)
	require.NotEmpty(t, exp.audit)
	require.NotEmpty(t, exp.spikes)

	url := fmt.Sprintf("redis://%s/9", rdb.Options().Addr)
	cmd := exec.Command(buildRunner(t), "-job", "job.yaml", "-input", path, "-once", "-redis", url, "-prefix", prefix, "-progress", "off", "-quiet")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s\n%s", stdout.String(), stderr.String())
	t.Log(stdout.String())

	msgs, err := rdb.XRange(ctx, prefix+"security:alerts", "-", "+").Result()
	require.NoError(t, err)
	var got []alert
	for _, m := range msgs {
		v := m.Values
		require.Equal(t, "brute_force", v["kind"])
		id, _ := strconv.ParseInt(v["login_id"].(string), 10, 64)
		first, err := time.Parse(time.RFC3339Nano, v["first_failure"].(string))
		require.NoError(t, err)
		at, _ := strconv.ParseInt(v["at"].(string), 10, 64)
		got = append(got, alert{user: v["user"].(string), ip: v["ip"].(string), id: id, first: first.UTC(), at: time.UnixMilli(at).UTC()})
	}
	require.Equal(t, exp.alerts, got, "security:alerts")
	flagged, err := rdb.SMembers(ctx, prefix+"security:flagged").Result()
	require.NoError(t, err)
	var users []string
	for _, a := range exp.alerts {
		users = append(users, a.user)
	}
	slices.Sort(users)
	slices.Sort(flagged)
	require.Equal(t, slices.Compact(users), flagged, "security:flagged")

	for user, ids := range exp.audit {
		items, err := rdb.LRange(ctx, prefix+"audit:"+user, 0, -1).Result()
		require.NoError(t, err)
		var gotIDs []string
		for _, it := range items {
			var e map[string]any
			require.NoError(t, json.Unmarshal([]byte(it), &e), it)
			require.Contains(t, e, "ip")
			require.Contains(t, e, "time")
			gotIDs = append(gotIDs, fmt.Sprint(e["login_id"]))
		}
		slices.Sort(gotIDs)
		slices.Sort(ids)
		require.Equal(t, ids, gotIDs, "audit:%s", user)
	}
	keys, err := rdb.Keys(ctx, prefix+"audit:*").Result()
	require.NoError(t, err)
	require.Len(t, keys, len(exp.audit), "audit lists")

	keys, err = rdb.Keys(ctx, prefix+"spike:*").Result()
	require.NoError(t, err)
	gotSpikes := map[string][2]int{}
	for _, k := range keys {
		h, err := rdb.HGetAll(ctx, k).Result()
		require.NoError(t, err)
		f, _ := strconv.Atoi(h["failed"])
		u, _ := strconv.Atoi(h["users"])
		gotSpikes[strings.TrimPrefix(k, prefix)] = [2]int{f, u}
	}
	require.Equal(t, exp.spikes, gotSpikes, "spike hashes")

	dl, err := rdb.XRange(ctx, prefix+"security:deadletter", "-", "+").Result()
	require.NoError(t, err)
	gotDead := map[string]bool{}
	for _, m := range dl {
		gotDead[m.Values["position"].(string)] = true
		require.NotEmpty(t, m.Values["raw"])
		require.NotEmpty(t, m.Values["reason"])
	}
	require.Equal(t, dead, gotDead, "security:deadletter")
	late, err := rdb.XLen(ctx, prefix+"security:late").Result()
	require.NoError(t, err)
	require.Zero(t, late, "nothing arrives later than the lateness")
}
