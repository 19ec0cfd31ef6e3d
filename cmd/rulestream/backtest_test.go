package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// backtestRow is a rule's row of a backtest report.
type backtestRow struct {
	target                                     string
	firings, keys, suppressed, skipped, errors int
}

// parseBacktest reads the report's table: its header line, then one row
// per rule.
func parseBacktest(t *testing.T, out string) (events int, rows map[string]backtestRow) {
	t.Helper()
	rows = map[string]backtestRow{}
	ls := lines(out)
	i := 0
	for i < len(ls) && !strings.HasPrefix(ls[i], "backtest of rule set ") {
		i++
	}
	require.Less(t, i, len(ls), "no report in:\n%s", out)
	_, err := fmt.Sscanf(ls[i], "backtest of rule set logins-1 over %d events", &events)
	require.NoError(t, err, ls[i])
	require.Equal(t, []string{"rule", "target", "firings", "keys", "suppressed", "skipped", "errors"}, strings.Fields(ls[i+1]))
	for _, l := range ls[i+2:] {
		if strings.HasPrefix(l, " ") { // the samples
			break
		}
		f := strings.Fields(l)
		require.Len(t, f, 7, l)
		var r backtestRow
		r.target = f[1]
		_, err := fmt.Sscan(strings.Join(f[2:], " "), &r.firings, &r.keys, &r.suppressed, &r.skipped, &r.errors)
		require.NoError(t, err, l)
		rows[f[0]] = r
	}
	return events, rows
}

// -backtest reports what each rule would fire over the job's input and
// writes nothing to the Redis given by -redis: no target, no idempotency
// marker, and no reference data either (the job's load: is not run). Its
// lookups read what Redis holds.
func TestBacktestWritesNothing(t *testing.T) {
	rdb, url, prefix := testRedis(t)
	ctx := context.Background()
	accounts := readAccounts(t)
	ls := readLogins(t, filepath.Join(loginsDir, "data", "logins.jsonl"))
	want := computeLogins(ls, adminsWithoutMFA(accounts))
	uniq := want.in - want.duplicates
	o := newOptions(filepath.Join(loginsDir, "job.yaml"), url, prefix)
	o.backtest = true

	// An empty Redis: the account records are unknown, so the rule reading
	// them skips every event.
	stdout, stderr, err := runJob(t, o)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	t.Log(stdout)
	events, rows := parseBacktest(t, stdout)
	require.Equal(t, want.in, events)
	require.Equal(t, map[string]backtestRow{
		"brute_force":       {target: "alerts", firings: len(want.alerts), keys: len(want.alerts)},
		"admin_without_mfa": {target: "audit", skipped: uniq},
		"failure_spike":     {target: "spikes", firings: len(want.spikes), keys: countries(want.spikes)},
	}, rows)
	require.NotContains(t, stdout, "accounts.csv: loaded", "a backtest loads no reference data")
	require.NotContains(t, stdout, "events: ", "a backtest prints its report, not the run's summary")
	require.Empty(t, keysUnder(t, rdb, prefix), "a backtest wrote to Redis")

	// With the accounts in Redis (as a run's load: would have put them),
	// the rule fires as the run does; Redis is left as it was.
	for _, a := range accounts {
		require.NoError(t, rdb.HSet(ctx, prefix+"account:"+a.user, "user", a.user, "plan", a.plan, "admin", a.admin, "mfa", a.mfa).Err())
	}
	before := targetsDigest(t, rdb, prefix)
	stdout, stderr, err = runJob(t, o)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	_, rows = parseBacktest(t, stdout)
	require.Equal(t, backtestRow{target: "audit", firings: want.auditCount(), keys: len(want.audit)}, rows["admin_without_mfa"])
	require.Equal(t, before, targetsDigest(t, rdb, prefix), "a backtest changed Redis")
	require.Len(t, keysUnder(t, rdb, prefix), len(accounts), "a backtest wrote to Redis")
}

// -backtest without -redis runs on the embedded server, which holds
// nothing: the job's reference data (load:) is loaded into it first, so
// that rules reading lookups fire as a run's would.
func TestBacktestEmbeddedLoadsReference(t *testing.T) {
	ls := readLogins(t, filepath.Join(loginsDir, "data", "logins.jsonl"))
	want := computeLogins(ls, adminsWithoutMFA(readAccounts(t)))
	require.NotZero(t, want.auditCount())
	o := newOptions(filepath.Join(loginsDir, "job.yaml"), "", "")
	o.backtest = true
	stdout, stderr, err := runJob(t, o)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	t.Log(stdout)
	require.Contains(t, stdout, "embedded Redis on ")
	require.Regexp(t, `(?m)^`+regexp.QuoteMeta(filepath.Join(loginsDir, "data", "accounts.csv"))+`: loaded 300, skipped 0, recovered 0, `, stdout)
	events, rows := parseBacktest(t, stdout)
	require.Equal(t, want.in, events)
	require.Equal(t, map[string]backtestRow{
		"brute_force":       {target: "alerts", firings: len(want.alerts), keys: len(want.alerts)},
		"admin_without_mfa": {target: "audit", firings: want.auditCount(), keys: len(want.audit)},
		"failure_spike":     {target: "spikes", firings: len(want.spikes), keys: countries(want.spikes)},
	}, rows)

	// A Kafka job without -input fails before anything is loaded.
	o = newOptions(writeKafkaLoginsJob(t, t.TempDir(), []string{"127.0.0.1:1"}, "g"), "", "")
	o.backtest = true
	stdout, _, err = runJob(t, o)
	require.EqualError(t, err, "-backtest reads a file: give -input")
	require.NotContains(t, stdout, "loaded")
}

// countries counts the distinct countries of spike keys
// (spike:<country>:<hour>): the failure_spike rule's firing keys.
func countries(spikes map[string][2]int) int {
	m := map[string]bool{}
	for k := range spikes {
		m[strings.Split(k, ":")[1]] = true
	}
	return len(m)
}

// -backtest's report is its result: -quiet must not hide it.
func TestBacktestQuietPrintsReport(t *testing.T) {
	rdb, url, prefix := testRedis(t)
	o := newOptions(filepath.Join(loginsDir, "job.yaml"), url, prefix)
	o.backtest, o.quiet = true, true
	stdout, stderr, err := runJob(t, o)
	require.NoError(t, err, stderr)
	require.Empty(t, keysUnder(t, rdb, prefix))
	require.Contains(t, stdout, "backtest of rule set")
	_, rows := parseBacktest(t, stdout)
	require.Len(t, rows, 3)
}

// -backtest reads one file: a Kafka job needs -input, and a glob must
// match one file.
func TestBacktestInputErrors(t *testing.T) {
	_, url, prefix := testRedis(t)
	dir := t.TempDir()
	jobPath := writeKafkaLoginsJob(t, dir, []string{"127.0.0.1:1"}, "g")
	o := newOptions(jobPath, url, prefix)
	o.backtest = true
	_, _, err := runJob(t, o)
	require.EqualError(t, err, "-backtest reads a file: give -input")

	for _, name := range []string{"a.jsonl", "b.jsonl"} {
		writeFile(t, filepath.Join(dir, name), "")
	}
	o = newOptions(filepath.Join(loginsDir, "job.yaml"), url, prefix)
	o.backtest, o.input = true, filepath.Join(dir, "*.jsonl")
	_, _, err = runJob(t, o)
	require.EqualError(t, err, "-backtest reads one file; the input matches 2")
}
