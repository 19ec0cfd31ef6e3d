package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/job"
)

// A job file with errors: run returns each one as file:line:col, before
// it connects to Redis (the one given is unreachable) or prints anything.
func TestJobFileErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "job.yaml")
	good := reloadJob("", "event.amount > 100", "3", "")
	for _, c := range []struct {
		name  string
		edits []string // old, new
		want  func(bad string) []string
	}{
		{"two rules", []string{"when: event.amount > 100", "when: event.amount > 'x'", `when: "true"`, "when: window.nope"},
			func(bad string) []string {
				return []string{
					fmt.Sprintf("%s:%d:24: rules[big].when: found no matching overload for '_>_' applied to '(int, string)'", path, lineNumber(bad, "    when: event")),
					" | event.amount > 'x'",
					" | .............^",
					fmt.Sprintf("%s:%d:17: rules[burst].when: undefined field 'nope'", path, lineNumber(bad, "    when: window")),
					" | window.nope",
					" | ......^",
				}
			}},
		{"window count", []string{"count: 3", "count: 0"}, func(bad string) []string {
			return []string{fmt.Sprintf("%s:%d:12: windows[0].count: must be between 1 and 32768", path, lineNumber(bad, "    count: "))}
		}},
		{"lateness", []string{"lateness: 1m", "lateness: 1 minute"}, func(bad string) []string {
			return []string{fmt.Sprintf(`%s:%d:11: lateness: "1 minute" is not a duration (e.g. 30s, 5m, 24h, 7d)`, path, lineNumber(bad, "lateness: "))}
		}},
		{"unknown target", []string{"target: hits", "target: hit"}, func(bad string) []string {
			return []string{fmt.Sprintf("%s:%d:13: rules[big].target: ", path, lineNumber(bad, "    target: hit"))}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := good
			for i := 0; i < len(c.edits); i += 2 {
				require.Equal(t, 1, strings.Count(bad, c.edits[i]), c.edits[i])
				bad = strings.Replace(bad, c.edits[i], c.edits[i+1], 1)
			}
			writeFile(t, path, bad)
			o := newOptions(path, unreachableRedis(t), "p:")
			o.once = true
			stdout, stderr, err := runJob(t, o)
			require.Error(t, err)
			require.Empty(t, stdout)
			require.Empty(t, stderr)
			var je *job.Error
			require.True(t, errors.As(err, &je), "%T: %v", err, err)
			got, want := lines(err.Error()), c.want(bad)
			require.Len(t, got, len(want), err.Error())
			for i := range want {
				require.True(t, strings.HasPrefix(got[i], want[i]), "line %d: %q does not start with %q", i, got[i], want[i])
			}
		})
	}

	// A file that is not there.
	o := newOptions(filepath.Join(dir, "missing.yaml"), unreachableRedis(t), "p:")
	_, _, err := runJob(t, o)
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Contains(t, err.Error(), o.job)
}

// An input that does not exist is an error naming it, whether it is the
// job's path, -input or a glob matching nothing.
func TestInputErrors(t *testing.T) {
	_, url, prefix := testRedis(t)
	dir := t.TempDir()
	jobPath := filepath.Join(dir, "job.yaml")
	writeFile(t, jobPath, reloadJob("", "event.amount > 100", "3", ""))
	for _, c := range []struct {
		name, input, msg string
		follow           bool
	}{
		{"job's path", "", "input: stat " + filepath.Join(dir, "payments.csv") + ": no such file or directory", false},
		{"job's path, followed", "", "input: stat " + filepath.Join(dir, "payments.csv") + ": no such file or directory", true},
		{"-input", filepath.Join(dir, "nope.csv"), "input: stat " + filepath.Join(dir, "nope.csv") + ": no such file or directory", false},
		{"glob", filepath.Join(dir, "*.csv"), "input " + filepath.Join(dir, "*.csv") + ": no file matches", false},
		{"bad glob", filepath.Join(dir, "[.csv"), "input " + filepath.Join(dir, "[.csv") + ": syntax error in pattern", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := newOptions(jobPath, url, prefix)
			o.input, o.once = c.input, !c.follow
			_, _, err := runJob(t, o)
			require.EqualError(t, err, c.msg)
		})
	}
}

// A -redis that cannot be reached fails the run at once, naming the address.
func TestRedisUnreachable(t *testing.T) {
	addr := unreachableRedis(t)
	o := newOptions(filepath.Join(loginsDir, "job.yaml"), addr, "p:")
	o.once = true
	stdout, stderr, err := runJob(t, o)
	require.Error(t, err)
	require.Contains(t, err.Error(), "enrich: connect to "+addr)
	require.Contains(t, err.Error(), "connection refused")
	require.NotContains(t, stdout, "events:")
	require.Contains(t, stderr, `msg="enrich: redis unreachable"`)

	// A malformed address too, without a password in the error.
	o.redis = "redis://user:s3cret@127.0.0.1:1/x"
	_, _, err = runJob(t, o)
	require.Error(t, err)
	require.NotContains(t, err.Error(), "s3cret")
}
