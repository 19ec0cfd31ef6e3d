package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/job"
)

// everyRules is a -rules file: every play fires ads (no lookup needed).
func everyRules(version, extra string) string {
	return "version: " + version + "\nrules:\n  - name: every\n    when: event.track_id > 0\n    target: ads\n" + extra
}

// -rules hot reload of a file naming a target or a window that does not
// exist: refused with the file, line, column and rule; the previous set
// stays live and goes on firing (appended plays reach queue:ads by it); the
// run goes on and ends without error (such a file loaded, then its first
// firing stopped the run with "no route for target"; an unknown window
// never fired). The same files are refused when the run starts, as -rules
// and in a -job file.
func TestRulesReloadUnknownTargetOrWindow(t *testing.T) {
	url, rdb, prefix := testRedis(t)
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	require.NoError(t, os.WriteFile(rulesPath, []byte(everyRules("r1", "")), 0o644))
	base := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	plays := writePlays(t, dir, base)
	o, err := parseFlags([]string{"-tracks", plays, "-rules", rulesPath, "-redis", url, "-prefix", prefix, "-progress", "off"}, &bytes.Buffer{})
	require.NoError(t, err)
	reloads := make(chan [2]any, 16)
	o.onReload = func(version string, err error) {
		select {
		case reloads <- [2]any{version, err}:
		default:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	ended := make(chan error, 1)
	go func() { ended <- run(ctx, o, &stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ended:
		case <-time.After(30 * time.Second):
			t.Errorf("the run did not end within 30s of its cancellation")
		}
	})
	reload := func() (string, error) {
		t.Helper()
		select {
		case r := <-reloads:
			err, _ := r[1].(error)
			return r[0].(string), err
		case err := <-ended:
			t.Fatalf("run ended: %v\nstderr:\n%s", err, stderr.String())
		case <-time.After(20 * time.Second):
			t.Fatalf("no reload attempt within 20s\nstderr:\n%s", stderr.String())
		}
		return "", nil
	}
	// waitAd waits until queue:ads holds the ad of play id, and returns
	// its rule_version.
	waitAd := func(id int) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			for _, e := range readStream(t, rdb, prefix+"queue:ads") {
				if e["event_id"] == fmt.Sprint(id) {
					return e["rule_version"].(string)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no ad of play %d within 20s\nstderr:\n%s", id, stderr.String())
			}
			time.Sleep(10 * time.Millisecond) // polling Redis, written by the run's sink
		}
	}
	v, err := reload()
	require.NoError(t, err, "the initial load")
	require.Equal(t, "r1", v)
	require.Equal(t, "r1", waitAd(1))

	bad := []struct{ name, text, want string }{
		{"target", everyRules("r2", "  - name: typo\n    when: \"true\"\n    target: adz\n"),
			fmt.Sprintf(`%s:8:13: rule "typo": target: unknown target "adz" (declared: ads, interest, sms)`, rulesPath)},
		{"window", everyRules("r2", "  - name: typo\n    window: nope\n    when: \"true\"\n    target: ads\n"),
			fmt.Sprintf(`%s:7:13: rule "typo": window: unknown window "nope" (declared: repeats)`, rulesPath)},
	}
	for i, c := range bad {
		tmp := rulesPath + ".tmp" // as editors save
		require.NoError(t, os.WriteFile(tmp, []byte(c.text), 0o644))
		require.NoError(t, os.Rename(tmp, rulesPath))
		v, err := reload()
		require.Error(t, err, c.name)
		require.NotErrorIs(t, err, job.ErrRestartNeeded, c.name)
		require.Equal(t, c.want, err.Error(), c.name)
		require.Equal(t, "r1", v, "%s: the previous set stays live", c.name)
		// A play appended now fires by the previous set.
		id := 2 + i
		f, err := os.OpenFile(plays, os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		require.NoError(t, gen.WritePlays(f, []gen.Play{{EventID: int64(id), CustomerID: int64(id), TrackID: int64(id), Time: base.Add(time.Duration(id) * time.Second), Zip: "12345"}}))
		require.NoError(t, f.Close())
		require.Equal(t, "r1", waitAd(id), c.name)
	}
	require.Contains(t, stderr.String(), `msg="rules rejected; the previous set stays live"`)

	cancel()
	select {
	case err := <-ended:
		require.NoError(t, err, "stderr:\n%s", stderr.String())
		ended <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end within 30s of its cancellation")
	}
	require.Contains(t, stdout.String(), "rules: every=3\n")

	// At the start of a run: -rules, and the same rule in a -job file.
	for _, c := range bad {
		require.NoError(t, os.WriteFile(rulesPath+"."+c.name, []byte(c.text), 0o644))
		_, _, err := runOnce(t, "-once", "-tracks", plays, "-rules", rulesPath+"."+c.name, "-progress", "off")
		require.EqualError(t, err, strings.Replace(c.want, rulesPath, rulesPath+"."+c.name, 1), c.name)
	}
	for _, c := range []struct{ name, old, new, want string }{
		{"target", "    target: ads\n    cooldown: 24h\n", "    target: adz\n    cooldown: 24h\n", `rules[upgrade_ad].target: unknown target "adz" (declared: ads, interest, sms)`},
		{"window", "    window: repeats\n", "    window: nope\n", `rules[interest].window: unknown window "nope" (declared: repeats)`},
	} {
		path := editedJob(t, c.old, c.new)
		_, _, err := runOnce(t, "-once", "-tracks", plays, "-job", path, "-progress", "off")
		var je *job.Error
		require.True(t, errors.As(err, &je), "%s: %T %v", c.name, err, err)
		src, rerr := os.ReadFile(path)
		require.NoError(t, rerr)
		line := slices.IndexFunc(strings.Split(string(src), "\n"), func(l string) bool { return l == strings.Split(c.new, "\n")[0] }) + 1
		require.Contains(t, lines(err.Error()), fmt.Sprintf("%s:%d:13: %s", path, line, c.want), c.name)
	}
}

// lines splits text into its lines.
func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }
