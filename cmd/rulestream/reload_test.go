package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/job"
	"github.com/rulestream/rulestream/targets"
)

// reloadJob is a job over CSV payments: a per-event rule pushing the ids of
// big payments to the list hits, and a window rule over bursts of a user's
// payments (never matched here: every user pays once, but for the test of
// a cooldown).
func reloadJob(version, when, count, cooldown string) string {
	if version != "" {
		version = "version: " + version + "\n"
	}
	if cooldown != "" {
		cooldown = "    cooldown: " + cooldown + "\n"
	}
	return `name: payments
` + version + `
input:
  path: payments.csv
  columns: [id, user, amount, time]
  fields: {id: int, user: string, amount: int, time: time}
  time: time
  id: id
  key: user

lateness: 1m

windows:
  - name: bursts
    type: count_within
    key: user
    count: ` + count + `
    within: 10m

rules:
  - name: big
    when: ` + when + `
    target: hits
` + cooldown + `
  - name: burst
    window: bursts
    when: "true"
    target: bursts

targets:
  - name: hits
    type: list
    key: hits
    member: id
  - name: bursts
    type: list
    key: bursts
    member: user
`
}

// follower is a run of a job in follow mode (no -once) on a CSV file the
// test appends to. Its targets send each emission at once (a batch of one):
// with the default policy, the last emissions before the file goes idle
// stay in the targets' batch (TestFollowWritesWhenIdle).
type follower struct {
	t        *testing.T
	rdb      *redis.Client
	prefix   string
	jobPath  string
	input    string
	reloads  chan error
	cancel   context.CancelFunc
	ended    chan struct{} // closed when run returns, with err
	err      error
	stdout   *syncBuffer
	stderr   *syncBuffer
	next     int // the next payment id
	hits     []string
	base     time.Time
	appended int
}

func startFollower(t *testing.T, jobText string) *follower {
	return startFollowerBatch(t, jobText, targets.BatchPolicy{Count: 1})
}

// startFollowerBatch starts a follower whose targets batch by policy.
func startFollowerBatch(t *testing.T, jobText string, policy targets.BatchPolicy) *follower {
	rdb, url, prefix := testRedis(t)
	dir := t.TempDir()
	f := &follower{t: t, rdb: rdb, prefix: prefix, jobPath: filepath.Join(dir, "job.yaml"), input: filepath.Join(dir, "payments.csv"),
		reloads: make(chan error, 16), ended: make(chan struct{}), stdout: &syncBuffer{}, stderr: &syncBuffer{}, next: 1,
		base: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)}
	writeFile(t, f.jobPath, jobText)
	writeFile(t, f.input, "")
	o := newOptions(f.jobPath, url, prefix)
	o.onReload = func(err error) {
		select {
		case f.reloads <- err:
		default: // a test reading no more outcomes must not block the watcher
		}
	}
	o.targetBatch = policy
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	f.cancel = cancel
	go func() {
		defer close(f.ended)
		f.err = run(ctx, o, f.stdout, f.stderr)
	}()
	// A test that fails midway still ends the run before its keys are
	// deleted (cleanups run last first).
	t.Cleanup(func() {
		cancel()
		select {
		case <-f.ended:
		case <-time.After(30 * time.Second):
			t.Errorf("the run did not end within 30s of its cancellation")
		}
	})
	// The watcher's first load: the file as the run started with it.
	require.NoError(t, f.reload(), "the initial load")
	return f
}

// reload returns the outcome of the next reload attempt.
func (f *follower) reload() error {
	f.t.Helper()
	select {
	case err := <-f.reloads:
		return err
	case <-f.ended:
		f.t.Fatalf("run ended: %v\nstdout:\n%s\nstderr:\n%s", f.err, f.stdout, f.stderr)
	case <-time.After(20 * time.Second):
		f.t.Fatalf("no reload attempt within 20s\nstderr:\n%s", f.stderr)
	}
	return nil
}

// rewrite replaces the job file and returns the outcome of its reload.
func (f *follower) rewrite(jobText string) error {
	f.t.Helper()
	select {
	case err := <-f.reloads:
		f.t.Fatalf("an unexpected reload attempt: %v", err)
	default:
	}
	writeAtomic(f.t, f.jobPath, jobText)
	return f.reload()
}

// pay appends payments of these amounts, one user each (so that no burst
// matches), then a sentinel payment of 1,000,000 that every rule of the
// test fires on; it waits until the sentinel is in hits, and checks that
// the payments that fired are those at the indexes fire.
func (f *follower) pay(amounts []int, fire ...int) {
	f.t.Helper()
	f.payAs("", amounts, fire...)
}

// payAs is pay with every payment but the sentinel made by user (unless "").
func (f *follower) payAs(user string, amounts []int, fire ...int) {
	f.t.Helper()
	ids := f.appendPayments(user, amounts)
	for _, i := range fire {
		f.hits = append(f.hits, ids[i])
	}
	f.hits = append(f.hits, ids[len(ids)-1])
	require.Equal(f.t, f.hits, f.waitHit(ids[len(ids)-1]), "the list hits")
}

// appendPayments appends payments of these amounts by user (one user each
// when ""), then a sentinel payment of 1,000,000 by a user of its own, and
// returns their ids.
func (f *follower) appendPayments(user string, amounts []int) []string {
	f.t.Helper()
	var b strings.Builder
	var ids []string
	for i, a := range append(slices.Clone(amounts), 1_000_000) {
		id := f.next
		f.next++
		u := user
		if u == "" || i == len(amounts) {
			u = fmt.Sprintf("u%d", id)
		}
		// A second of event time per payment: the watermark (a minute
		// behind) never passes a payment before it is read.
		fmt.Fprintf(&b, "%d,%s,%d,%s\n", id, u, a, f.base.Add(time.Duration(id)*time.Second).Format(time.DateTime))
		ids = append(ids, fmt.Sprint(id))
	}
	file, err := os.OpenFile(f.input, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(f.t, err)
	_, err = file.WriteString(b.String())
	require.NoError(f.t, err)
	require.NoError(f.t, file.Close())
	f.appended += len(ids)
	return ids
}

// waitHit waits until the list hits holds id and returns it, oldest first.
func (f *follower) waitHit(id string) []string {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := f.rdb.LRange(context.Background(), f.prefix+"hits", 0, -1).Result()
		require.NoError(f.t, err)
		if slices.Contains(got, id) {
			slices.Reverse(got) // LPUSH: the newest first
			return got
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("payment %s never reached the list hits within 20s: it holds %v\nstderr:\n%s", id, got, f.stderr)
		}
		time.Sleep(10 * time.Millisecond) // polling Redis, written by the run's sink
	}
}

// stop cancels the run, as SIGINT does, and returns its stdout.
func (f *follower) stop() string {
	f.t.Helper()
	f.cancel()
	select {
	case <-f.ended:
		require.NoError(f.t, f.err, "a cancelled run ends without error\nstderr:\n%s", f.stderr)
	case <-time.After(30 * time.Second):
		f.t.Fatalf("the run did not end within 30s of its cancellation")
	}
	return f.stdout.String()
}

// Hot reload of a followed job: a new condition applies to the events
// read after it, and so does a cooldown (followed, the rules decide in
// arrival order); a file with an error, or a change that needs a restart
// (a window's count, the event-time order), is refused and the running rules go on; cancelling the run drains it and
// prints the summary.
func TestReloadFollow(t *testing.T) {
	f := startFollower(t, reloadJob("", "event.amount > 100", "3", ""))
	f.pay([]int{150, 50, 101, 100}, 0, 2)

	// The condition changes: the new one decides from the next payments.
	require.NoError(t, f.rewrite(reloadJob("", "event.amount > 40", "3", "")))
	f.pay([]int{50, 30, 41, 40}, 0, 2)

	// Files with errors are refused: the rule of the last good file goes on.
	good := reloadJob("", "event.amount > 40", "3", "")
	for _, c := range []struct {
		name, text, where string
	}{
		{"CEL syntax", reloadJob("", "event.amount >", "3", ""), fmt.Sprintf("job.yaml:%d:", lineNumber(good, "    when: "))},
		{"CEL type", reloadJob("", "event.amount > 'x'", "3", ""), fmt.Sprintf("job.yaml:%d:", lineNumber(good, "    when: "))},
		{"YAML", good + "  - [unclosed\n", "job.yaml:"},
		{"unknown key", strings.Replace(good, "lateness: 1m", "latenes: 1m", 1), fmt.Sprintf("job.yaml:%d:1: ", lineNumber(good, "lateness:"))},
	} {
		err := f.rewrite(c.text)
		require.Error(t, err, c.name)
		t.Logf("%s: %v", c.name, err)
		require.NotErrorIs(t, err, job.ErrRestartNeeded, c.name)
		require.Contains(t, err.Error(), filepath.Join(filepath.Dir(f.jobPath), c.where), c.name)
		f.pay([]int{50, 30}, 0)
	}
	require.Contains(t, f.stderr.String(), `msg="job rejected; the running job goes on"`)

	// Followed, the rules decide in arrival order: a cooldown is a change of
	// the rules only, taken live. The user's second big payment is under it.
	require.NoError(t, f.rewrite(reloadJob("", "event.amount > 40", "3", "1h")))
	f.payAs("same-cooldown", []int{500, 500, 30}, 0)

	// Changes beyond the rules need a restart: refused, the running rules
	// go on (the new condition is not taken either).
	eventTime := strings.Replace(reloadJob("", "event.amount > 1000", "3", "1h"), "lateness: 1m", "lateness: 1m\norder: event_time", 1)
	require.Contains(t, eventTime, "order: event_time")
	for _, c := range []struct {
		name, text, why string
	}{
		{"window count", reloadJob("", "event.amount > 1000", "4", "1h"), "windows"},
		{"event-time order", eventTime, "order changed"},
	} {
		err := f.rewrite(c.text)
		require.ErrorIs(t, err, job.ErrRestartNeeded, c.name)
		require.Contains(t, err.Error(), c.why, c.name)
		f.payAs("same-"+strings.ReplaceAll(c.name, " ", "-"), []int{500, 500, 30}, 0)
	}
	require.Contains(t, f.stderr.String(), `msg="job changed: restart to apply; the running job goes on"`)

	// Back to the running file's content: nothing to do.
	require.NoError(t, f.rewrite(reloadJob("", "event.amount > 40", "3", "1h")))
	f.pay([]int{41}, 0)

	stdout := f.stop()
	t.Log(stdout)
	requireLine(t, stdout, fmt.Sprintf("events: %d in, 0 duplicates dropped, 0 dead-lettered, 0 late", f.appended))
	// Followed, the bursts window fires as soon as a user's third payment
	// arrives (early): the three users who paid three times make a burst
	// each, though the watermark never passed them.
	requireLine(t, stdout, "window bursts: 3 results, 0 evictions")
	requireLine(t, stdout, fmt.Sprintf("rules: big=%d burst=3", len(f.hits)))
	// A followed file is checkpointed (at least at the stop).
	require.Regexp(t, `(?m)^watermark: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, [1-9]\d* checkpoints$`, stdout)
	require.Regexp(t, `(?m)^time: \d+\.\d\ds \(\d+ events/s\)$`, stdout)
}

// A job file declaring its version: a rule changed under the same version
// is refused (emissions carry the version) and the running rules go on; a
// new version makes it live.
func TestReloadSameVersion(t *testing.T) {
	f := startFollower(t, reloadJob("v1", "event.amount > 100", "3", ""))
	f.pay([]int{150, 50}, 0)
	err := f.rewrite(reloadJob("v1", "event.amount > 40", "3", ""))
	require.Error(t, err)
	require.NotErrorIs(t, err, job.ErrRestartNeeded)
	require.Contains(t, err.Error(), "the rules changed but their version did not (v1)")
	f.pay([]int{50})
	require.NoError(t, f.rewrite(reloadJob("v2", "event.amount > 40", "3", "")))
	f.pay([]int{50, 40}, 0)
	f.stop()
	require.Contains(t, f.stderr.String(), `msg="job rejected; the running job goes on"`)
	require.Contains(t, f.stderr.String(), `msg="rules live" version=v2`)
}

// lineNumber returns the 1-based number of the first line of text that
// starts with prefix.
func lineNumber(text, prefix string) int {
	for i, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return i + 1
		}
	}
	return 0
}

// A followed file that goes idle: what its last lines emitted reaches
// Redis without waiting for more input (the targets' batch period is
// 100ms by default).
func TestFollowWritesWhenIdle(t *testing.T) {
	f := startFollowerBatch(t, reloadJob("", "event.amount > 100", "3", ""), targets.BatchPolicy{})
	ids := f.appendPayments("", []int{150})
	var got []string
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(got, ids[1]) && time.Now().Before(deadline) {
		var err error
		got, err = f.rdb.LRange(context.Background(), f.prefix+"hits", 0, -1).Result()
		require.NoError(t, err)
		time.Sleep(10 * time.Millisecond) // polling Redis, written by the run's sink
	}
	stdout := f.stop()
	if !slices.Contains(got, ids[1]) {
		t.Fatalf("the emissions of an idle followed file did not reach Redis within 5s (the writer flushes the "+
			"sinks' batches at each FlushInterval tick when no message waits); hits=%v, stdout:\n%s", got, stdout)
	}
	slices.Reverse(got)
	require.Equal(t, ids, got)
}
