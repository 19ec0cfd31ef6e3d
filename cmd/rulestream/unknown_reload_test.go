package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/job"
)

// A followed job whose file is rewritten with a rule naming a target or a
// window that does not exist: the reload is refused with the file, line,
// column and rule; the running rules go on firing, and the run goes on
// (such a file loaded, then its first firing stopped the run with "no
// route for target", exit 1). A file declaring the new target along needs
// a restart: refused too, the running rules go on. The same files are
// refused when the run starts.
func TestReloadUnknownTargetOrWindow(t *testing.T) {
	good := reloadJob("", "event.amount > 100", "3", "")
	f := startFollower(t, good)
	f.pay([]int{150, 50}, 0)
	dir := filepath.Dir(f.jobPath)

	edit := func(old, new string) string {
		require.Equal(t, 1, strings.Count(good, old), old)
		return strings.Replace(good, old, new, 1)
	}
	targetTypo := edit("    target: hits\n", "    target: hitz\n")
	windowTypo := edit("    window: bursts\n", "    window: nope\n")
	bad := []struct{ name, text, line, want string }{
		{"target", targetTypo, "    target: hitz", `rules[big].target: unknown target "hitz" (declared: bursts, hits)`},
		{"window", windowTypo, "    window: nope", `rules[burst].window: unknown window "nope" (declared: bursts)`},
	}
	for _, c := range bad {
		err := f.rewrite(c.text)
		require.Error(t, err, c.name)
		require.NotErrorIs(t, err, job.ErrRestartNeeded, c.name)
		require.Contains(t, lines(err.Error()), fmt.Sprintf("%s:%d:13: %s", filepath.Join(dir, "job.yaml"), lineNumber(c.text, c.line), c.want), c.name)
		f.pay([]int{150, 50}, 0)
	}
	require.Contains(t, f.stderr.String(), `msg="job rejected; the running job goes on"`)

	// The target declared along: the running targets cannot write it.
	newTarget := edit("    target: hits\n", "    target: more\n") + "  - name: more\n    type: list\n    key: more\n    member: id\n"
	err := f.rewrite(newTarget)
	require.ErrorIs(t, err, job.ErrRestartNeeded)
	require.Contains(t, err.Error(), "targets changed")
	f.pay([]int{150, 50}, 0)

	stdout := f.stop()
	requireLine(t, stdout, fmt.Sprintf("rules: big=%d burst=0", len(f.hits)))

	// At the start of a run, the same files are errors, before Redis is
	// reached.
	for _, c := range bad {
		path := filepath.Join(t.TempDir(), "job.yaml")
		writeFile(t, path, c.text)
		o := newOptions(path, unreachableRedis(t), "p:")
		o.once = true
		_, _, err := runJob(t, o)
		require.ErrorContains(t, err, fmt.Sprintf("%s:%d:13: %s", path, lineNumber(c.text, c.line), c.want), c.name)
	}
}
