package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// seqJob is a job of per-event rules only (a dedup, a lookup, two rules
// that can both fire on one login): its outputs follow its input order, so
// that a checkpointed run writes them with a high-water mark per partition
// instead of a marker each.
const seqJob = `name: logins
version: seq-1
input:
  path: INPUT
  format: json
  fields:
    login_id: int
    user: string
    ip: string
    country: string
    ok: bool
    time: {type: time, format: rfc3339}
  time: time
  id: login_id
  key: user
lateness: 2m
lookups:
  - name: account
    key: account:{user}
    fields: {user: string, plan: string, admin: bool, mfa: bool}
    load: {file: ACCOUNTS, key: "account:{user}"}
rules:
  - name: admin_without_mfa
    when: event.ok && account.admin && !account.mfa
    target: audit
  - name: admin_login
    when: account.admin
    target: audit
targets:
  - name: audit
    type: list
    key: audit:{user}
    fields: [login_id, ip, time]
`

// A followed file, SIGKILLed five times at random points while lines are
// appended and restarted each time, leaves Redis as a clean run does, with
// a job whose outputs follow its input order: they are written by their
// place in the file (stream.Event.Seq) against a high-water mark, with no
// marker per output, and the lists, in order, equal the clean run's.
func TestFollowedFileInInputOrderCrashRecoveryEqualsCleanRun(t *testing.T) {
	if testing.Short() {
		t.Skip("long: SIGKILLs the runner several times")
	}
	rdb, url, prefix := testRedis(t)
	ls := readLogins(t, filepath.Join(loginsDir, "data", "logins.jsonl"))
	n := int64(len(ls))
	var lines []string
	for _, l := range ls {
		lines = append(lines, string(l.raw)+"\n")
	}
	accounts, err := filepath.Abs(filepath.Join(loginsDir, "data", "accounts.csv"))
	require.NoError(t, err)
	jobPath := filepath.Join(t.TempDir(), "job.yaml")
	writeFile(t, jobPath, strings.NewReplacer("INPUT", "logins.jsonl", "ACCOUNTS", accounts).Replace(seqJob))
	args := func(path, prefix string) []string {
		// The defaults otherwise: lanes (one per core), the silence watch.
		return []string{"-job", jobPath, "-input", path, "-redis", url, "-prefix", prefix, "-progress", "off",
			"-checkpoint-interval", "100ms", "-parallelism", "2"}
	}

	ref, crash := prefix+"ref:", prefix+"crash:"
	refPath := filepath.Join(t.TempDir(), "logins.jsonl")
	writeFile(t, refPath, strings.Join(lines, ""))
	p := startSigProc(t, args(refPath, ref)...)
	waitGlobCheckpoint(t, rdb, ref, refPath, n, p)
	stopSigProc(t, p)
	want := digestTargets(t, rdb, ref, false)
	require.NotEmpty(t, want)

	path := filepath.Join(t.TempDir(), "logins.jsonl")
	writeFile(t, path, "")
	appended := appendInRounds([]string{path}, [][]string{lines})
	killFiveTimes(t, rdb, crash, path, n, 5, func() *sigProc { return startSigProc(t, args(path, crash)...) })
	require.NoError(t, <-appended)
	p = startSigProc(t, args(path, crash)...)
	waitGlobCheckpoint(t, rdb, crash, path, n, p)
	stopSigProc(t, p)
	require.Contains(t, p.stderr.String(), "source resumed from its checkpoint")

	got := digestTargets(t, rdb, crash, false)
	require.Equal(t, len(want), len(got))
	for k, v := range want {
		require.Equal(t, v, got[k], "key %s", k)
	}
	// No marker: the sink's state is one hash, the partition's mark.
	ctx := context.Background()
	state := keysUnder(t, rdb, crash+"rulestream:done:")
	require.Len(t, state, 1, "%v", state)
	require.Equal(t, "hash", rdb.Type(ctx, crash+"rulestream:done:"+state[0]).Val())
	require.NotEmpty(t, rdb.HGet(ctx, crash+"rulestream:done:"+state[0], "w").Val())
}
