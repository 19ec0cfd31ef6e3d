package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// writePayments writes payments of these amounts (one user each, a second
// of event time apart) as the CSV reloadJob reads.
func writePayments(t *testing.T, path string, amounts ...int) {
	t.Helper()
	base := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	var b strings.Builder
	for i, a := range amounts {
		fmt.Fprintf(&b, "%d,u%d,%d,%s\n", i+1, i+1, a, base.Add(time.Duration(i)*time.Second).Format(time.DateTime))
	}
	writeFile(t, path, b.String())
}

// A rule that fails at run time (here a division by zero on the payments
// of 50), a window's where: or a pattern's condition that fails, are
// counted in the summary's errors line, which names only the rules and
// windows (window:<name>) with errors; a run without errors has no such
// line, and the other lines are as they always were.
func TestSummaryErrors(t *testing.T) {
	_, url, prefix := testRedis(t)
	dir := t.TempDir()
	jobPath := filepath.Join(dir, "job.yaml")
	writePayments(t, filepath.Join(dir, "payments.csv"), 50, 150, 50, 40, 60)

	writeFile(t, jobPath, reloadJob("", "100 / (event.amount - 50) > 5", "3", ""))
	o := newOptions(jobPath, url, prefix+"a:")
	o.once = true
	stdout, stderr, err := runJob(t, o)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	t.Log(stdout)
	requireLine(t, stdout, "events: 5 in, 0 duplicates dropped, 0 dead-lettered, 0 late")
	requireLine(t, stdout, "rules: big=1 burst=0") // 100/10 > 5 for the payment of 60
	requireLine(t, stdout, "errors: big=2")
	requireLine(t, stdout, "written: bursts=0 hits=1")
	ls := lines(stdout)
	require.Equal(t, "time:", strings.Fields(ls[len(ls)-1])[0], "the summary ends with its time line")

	// A window's where: failing, and a pattern's condition failing, are
	// counted under the window's name.
	withWindows := strings.Replace(reloadJob("", "event.amount > 100", "3", ""), "    within: 10m\n", `    within: 10m
    where: 100 / (event.amount - 50) > 0
  - name: pairs
    type: sequence
    key: user
    steps: ['100 / (event.amount - 40) > 0', 'true']
    within: 10m
`, 1)
	withWindows = strings.Replace(withWindows, "\ntargets:\n", `  - name: pair
    window: pairs
    when: "true"
    target: bursts

targets:
`, 1)
	writeFile(t, jobPath, withWindows)
	o = newOptions(jobPath, url, prefix+"w:")
	o.once = true
	stdout, stderr, err = runJob(t, o)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	t.Log(stdout)
	requireLine(t, stdout, "rules: big=1 burst=0 pair=0")
	requireLine(t, stdout, "errors: window:bursts=2 window:pairs=1")

	writeFile(t, jobPath, reloadJob("", "event.amount > 100", "3", ""))
	o = newOptions(jobPath, url, prefix+"b:")
	o.once = true
	stdout, stderr, err = runJob(t, o)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	requireLine(t, stdout, "rules: big=1 burst=0")
	require.NotContains(t, stdout, "errors:")
}
