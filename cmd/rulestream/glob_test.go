package main

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeLoginsJob writes examples/logins/job.yaml into dir with input (the
// YAML lines of the input's source) instead of its path, its reference
// data taken from the example, and edits (old -> new, each old found once).
func writeLoginsJob(t *testing.T, dir, input string, edits ...string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(loginsDir, "job.yaml"))
	require.NoError(t, err)
	accounts, err := filepath.Abs(filepath.Join(loginsDir, "data", "accounts.csv"))
	require.NoError(t, err)
	edits = append([]string{"  path: data/logins.jsonl\n", input, "file: data/accounts.csv", "file: " + accounts}, edits...)
	src := string(raw)
	for i := 0; i < len(edits); i += 2 {
		require.Equal(t, 1, strings.Count(src, edits[i]), "job.yaml no longer holds %q once", edits[i])
		src = strings.Replace(src, edits[i], edits[i+1], 1)
	}
	path := filepath.Join(dir, "job.yaml")
	writeFile(t, path, src)
	return path
}

// writeSplit writes the logins into files of dir named name(i) for the
// part(l) each login goes to, keeping their order.
func writeSplit(t *testing.T, dir string, ls []login, part func(i int, l login) int) {
	t.Helper()
	files := map[int]*bytes.Buffer{}
	for i, l := range ls {
		p := part(i, l)
		if files[p] == nil {
			files[p] = &bytes.Buffer{}
		}
		files[p].Write(l.raw)
		files[p].WriteByte('\n')
	}
	for p, b := range files {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("logins-%d.jsonl", p)), b.String())
	}
}

// summaryOf keeps the lines of a run's summary that depend on the data
// only (not the time taken).
func summaryOf(out string) []string {
	var s []string
	for _, l := range lines(out) {
		for _, p := range []string{"events: ", "window ", "rules: ", "written: ", "watermark: "} {
			if strings.HasPrefix(l, p) {
				s = append(s, l)
			}
		}
	}
	return s
}

// An input glob matching several files makes each file a source. Split by
// user (the key of every window built), the files give what the whole file
// gives: the same summary and the same targets.
func TestGlobInputEqualsSingleFile(t *testing.T) {
	rdb, url, prefix := testRedis(t)
	whole := filepath.Join(loginsDir, "data", "logins.jsonl")
	ls := readLogins(t, whole)
	dir := t.TempDir()
	writeSplit(t, dir, ls, func(_ int, l login) int {
		h := fnv.New32a()
		h.Write([]byte(l.User))
		return int(h.Sum32() % 3)
	})
	// The spike rule reads a window keyed by country, which spans the
	// files: without it, every window built is keyed by user.
	jobPath := writeLoginsJob(t, dir, "  path: logins-*.jsonl\n",
		"  - name: failure_spike\n", "  - name: failure_spike\n    enabled: false\n")

	single := newOptions(jobPath, url, prefix+"single:")
	single.input, single.once, single.parallelism = whole, true, 3
	stdout1, stderr, err := runJob(t, single)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout1, stderr)

	glob := newOptions(jobPath, url, prefix+"glob:")
	glob.once, glob.parallelism = true, 3
	stdout2, stderr, err := runJob(t, glob)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout2, stderr)
	t.Log(stdout2)
	require.Equal(t, summaryOf(stdout1), summaryOf(stdout2))
	require.NotContains(t, stderr, "one lane per partition")

	want := computeLogins(ls, adminsWithoutMFA(readAccounts(t)))
	requireLine(t, stdout2, fmt.Sprintf("rules: admin_without_mfa=%d brute_force=%d", want.auditCount(), len(want.alerts)))
	requirePerUser(t, want, readLoginTargets(t, rdb, prefix+"glob:"))
	d1, d2 := targetsDigest(t, rdb, prefix+"single:"), targetsDigest(t, rdb, prefix+"glob:")
	require.Contains(t, d1, "security:alerts")
	require.Equal(t, d1, d2)
}

// Files rotated by time (a log cut in two, here amid a user's five
// failures) are one stream of events: the glob should give what the whole
// file gives.
func TestGlobRotatedFilesEqualSingleFile(t *testing.T) {
	rdb, url, prefix := testRedis(t)
	whole := filepath.Join(loginsDir, "data", "logins.jsonl")
	ls := readLogins(t, whole)
	// u223's first five failures are lines 281, 284, 286, 291 and 298.
	for _, n := range []int{281, 284, 286, 291, 298} {
		require.Equal(t, "u223", ls[n-1].User)
		require.False(t, ls[n-1].OK)
	}
	dir := t.TempDir()
	writeSplit(t, dir, ls, func(i int, _ login) int {
		if i < 288 {
			return 1
		}
		return 2
	})
	jobPath := writeLoginsJob(t, dir, "  path: logins-*.jsonl\n")
	single := newOptions(jobPath, url, prefix+"single:")
	single.input, single.once = whole, true
	stdout1, stderr, err := runJob(t, single)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout1, stderr)
	glob := newOptions(jobPath, url, prefix+"glob:")
	glob.once = true
	stdout2, stderr, err := runJob(t, glob)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout2, stderr)

	// The two files are read concurrently into one chain: windows decide
	// in event time, but the per-event rule (admin_without_mfa) fires in
	// arrival order, which interleaves the files; a user's audit list holds
	// the same logins in another order.
	require.Equal(t, summaryOf(stdout1), summaryOf(stdout2))
	d1, d2 := targetsMultiset(t, rdb, prefix+"single:"), targetsMultiset(t, rdb, prefix+"glob:")
	require.Contains(t, d1, "security:alerts")
	require.Equal(t, d1, d2)
	// Some audit lists hold logins of both files (what made comparing their
	// order flaky).
	admins := adminsWithoutMFA(readAccounts(t))
	part := map[string]map[bool]bool{}
	for i, l := range ls {
		if l.OK && admins[l.User] {
			if part[l.User] == nil {
				part[l.User] = map[bool]bool{}
			}
			part[l.User][i < 288] = true
		}
	}
	spanning := 0
	for u, p := range part {
		if len(p) == 2 {
			spanning++
			require.Contains(t, d2, "audit:"+u)
		}
	}
	require.NotZero(t, spanning)
}
