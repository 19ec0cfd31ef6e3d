package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// runOnce parses args as the command line and runs it to its end (bounded
// by a deadline), returning stdout and stderr.
func runOnce(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	o, err := parseFlags(args, &bytes.Buffer{})
	require.NoError(t, err)
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err = run(ctx, o, &out, &errOut)
	require.NoError(t, ctx.Err(), "run did not end within its deadline\nstdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	return out.String(), errOut.String(), err
}

// A rule failing at run time (a division by zero on every play), or a
// window's where:, is counted in the summary's errors line; what does not
// fail is not named, and the other lines are unchanged.
func TestSummaryErrors(t *testing.T) {
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, []byte(`version: errs-1
rules:
  - name: broken
    when: 1 / (event.track_id - event.track_id) > 0
    target: ads
  - name: fine
    when: event.track_id < 0
    target: ads
`), 0o644))
	stdout, stderr, err := runOnce(t, "-once", "-events", "3000", "-progress", "off", "-rules", rulesPath)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	t.Log(stdout)
	m := regexp.MustCompile(`(?m)^events: (\d+) in, (\d+) duplicates dropped, 0 dead-lettered, 0 late$`).FindStringSubmatch(stdout)
	require.NotNil(t, m, stdout)
	in, _ := strconv.Atoi(m[1])
	dups, _ := strconv.Atoi(m[2])
	require.Regexp(t, `(?m)^rules: broken=0 fine=0$`, stdout)
	require.Regexp(t, fmt.Sprintf(`(?m)^errors: broken=%d$`, in-dups), stdout)
	require.Regexp(t, `(?m)^time: `, stdout)

	// The repeats window's where: failing on every play is counted under
	// the window's name.
	whereFails := editedJob(t, "    within: 30m\n", "    within: 30m\n    where: 1 / (event.track_id - event.track_id) > 0\n")
	stdout, stderr, err = runOnce(t, "-once", "-events", "3000", "-progress", "off", "-job", whereFails)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	m = regexp.MustCompile(`(?m)^events: (\d+) in, (\d+) duplicates dropped, 0 dead-lettered, 0 late$`).FindStringSubmatch(stdout)
	require.NotNil(t, m, stdout)
	in, _ = strconv.Atoi(m[1])
	dups, _ = strconv.Atoi(m[2])
	require.Regexp(t, `(?m)^rules: interest=0 sms_offer=0 upgrade_ad=\d+$`, stdout)
	require.Regexp(t, fmt.Sprintf(`(?m)^errors: window:repeats=%d$`, in-dups), stdout)

	// Without errors, no errors line.
	stdout, stderr, err = runOnce(t, "-once", "-events", "3000", "-progress", "off")
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	require.Regexp(t, `(?m)^rules: interest=\d+ sms_offer=0 upgrade_ad=\d+$`, stdout)
	require.NotContains(t, stdout, "errors:")
}
