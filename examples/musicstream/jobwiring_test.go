package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/examples/musicstream/music"
	"github.com/rulestream/rulestream/job"
	"github.com/rulestream/rulestream/stream/kafka"
)

// editedJob writes a copy of job.yaml with edits (old, new; each old found
// once), its reference files given as absolute paths, and returns its path.
func editedJob(t *testing.T, edits ...string) string {
	t.Helper()
	src, err := os.ReadFile("job.yaml")
	require.NoError(t, err)
	data, err := filepath.Abs("data")
	require.NoError(t, err)
	s := strings.ReplaceAll(string(src), "data/", data+"/")
	for i := 0; i < len(edits); i += 2 {
		require.Equal(t, 1, strings.Count(s, edits[i]), "job.yaml no longer holds %q once", edits[i])
		s = strings.Replace(s, edits[i], edits[i+1], 1)
	}
	path := filepath.Join(t.TempDir(), "job.yaml")
	require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
	return path
}

// writePlays writes plays at these times (one customer and track each) as
// a -tracks file.
func writePlays(t *testing.T, dir string, times ...time.Time) string {
	t.Helper()
	var plays []gen.Play
	for i, ts := range times {
		plays = append(plays, gen.Play{EventID: int64(i + 1), CustomerID: int64(i + 1), TrackID: int64(i + 1), Time: ts, Zip: "12345"})
	}
	return writeFile(t, dir, "plays.csv", func(b *bytes.Buffer) error { return gen.WritePlays(b, plays) })
}

// Without -lateness the job file's lateness: applies (job.yaml says 5m, the
// flag's default, so the default run is unchanged); -lateness overrides it.
func TestLatenessFromJob(t *testing.T) {
	base := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	// The third play is 3 minutes behind the newest one.
	plays := writePlays(t, t.TempDir(), base, base.Add(10*time.Minute), base.Add(7*time.Minute))
	oneMinute := editedJob(t, "lateness: 5m", "lateness: 1m")
	for _, c := range []struct {
		name string
		args []string
		late int
	}{
		{"built-in job", nil, 0},
		{"job's 1m", []string{"-job", oneMinute}, 1},
		{"-lateness overrides", []string{"-job", oneMinute, "-lateness", "5m"}, 0},
		{"-lateness shorter", []string{"-lateness", "2m"}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, err := runOnce(t, append([]string{"-once", "-tracks", plays, "-progress", "off", "-quiet"}, c.args...)...)
			require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Contains(t, stdout, fmt.Sprintf("events: 3 in, 0 duplicates dropped, 0 dead-lettered, %d late\n", c.late))
		})
	}
}

// The Kafka source is the job's (job.Job.KafkaSource, on the flags'
// brokers, topic, group and offset): a job whose input is CSV with a header
// is refused for Kafka, as cmd/rulestream refuses it.
func TestKafkaSourceIsTheJobs(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "plays"))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = kafka.ProduceLines(ctx, c.ListenAddrs(), "plays", strings.NewReader("event_id,customer_id,track_id,datetime,ismobile,listening_zip_code\n"+
		`1,1,1,"2026-10-01 12:00:00",0,"1"`+"\n"), kafka.ProducerConfig{})
	require.NoError(t, err)
	header := editedJob(t, "  columns: [event_id, customer_id, track_id, datetime, ismobile, listening_zip_code]\n", "  header: true\n")
	_, stderr, err := runOnce(t, "-job", header, "-kafka", strings.Join(c.ListenAddrs(), ","), "-once", "-progress", "off", "-quiet",
		"-events", "100")
	require.Error(t, err, stderr)
	require.Contains(t, err.Error(), "a CSV header is for files")
}

// The Kafka job is a copy of the job whose input is the flags' topic; the
// scenario's job is left as it was.
func TestKafkaJob(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // never connected to
	defer rdb.Close()
	sc, err := music.New(rdb, music.Config{})
	require.NoError(t, err)
	a := &app{o: &options{kafka: "b1:9092,b2:9092", topic: "t", group: "g", offset: "newest"}, sc: sc}
	kj := a.kafkaJob()
	require.Equal(t, &job.Kafka{Brokers: []string{"b1:9092", "b2:9092"}, Topic: "t", Group: "g", Offset: "newest"}, kj.Input.Kafka)
	require.Empty(t, kj.Input.Path)
	require.Equal(t, sc.Job().Input.Columns, kj.Input.Columns)
	require.Same(t, sc.Job().Rules, kj.Rules)
	require.Nil(t, sc.Job().Input.Kafka, "the scenario's job changed")
	require.NotEmpty(t, sc.Job().Input.Path)
}

// reloadRun is a followed run of the example with a -rules file the test
// rewrites.
type reloadRun struct {
	t       *testing.T
	rules   string
	reloads chan [2]any // version, error
	cancel  context.CancelFunc
	ended   chan struct{}
	err     error
	stdout  *syncBuffer
	stderr  *syncBuffer
}

func startReloadRun(t *testing.T, rules string) *reloadRun {
	dir := t.TempDir()
	r := &reloadRun{t: t, rules: filepath.Join(dir, "rules.yaml"), reloads: make(chan [2]any, 16), ended: make(chan struct{}),
		stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	require.NoError(t, os.WriteFile(r.rules, []byte(rules), 0o644))
	plays := writePlays(t, dir, time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC))
	o, err := parseFlags([]string{"-tracks", plays, "-rules", r.rules, "-progress", "off"}, &bytes.Buffer{})
	require.NoError(t, err)
	o.onReload = func(version string, err error) {
		select {
		case r.reloads <- [2]any{version, err}:
		default:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	r.cancel = cancel
	go func() {
		defer close(r.ended)
		r.err = run(ctx, o, r.stdout, r.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.ended:
		case <-time.After(30 * time.Second):
			t.Errorf("the run did not end within 30s of its cancellation")
		}
	})
	return r
}

// reload returns the live version and the outcome of the next reload
// attempt.
func (r *reloadRun) reload() (string, error) {
	r.t.Helper()
	select {
	case v := <-r.reloads:
		err, _ := v[1].(error)
		return v[0].(string), err
	case <-r.ended:
		r.t.Fatalf("run ended: %v\nstdout:\n%s\nstderr:\n%s", r.err, r.stdout, r.stderr)
	case <-time.After(20 * time.Second):
		r.t.Fatalf("no reload attempt within 20s\nstderr:\n%s", r.stderr)
	}
	return "", nil
}

// rewrite replaces the rules file as editors save it and returns the
// outcome of its reload.
func (r *reloadRun) rewrite(rules string) (string, error) {
	r.t.Helper()
	tmp := r.rules + ".tmp"
	require.NoError(r.t, os.WriteFile(tmp, []byte(rules), 0o644))
	require.NoError(r.t, os.Rename(tmp, r.rules))
	return r.reload()
}

// -rules hot reload goes through the job: a cooldown is taken live (the
// followed input is decided in arrival order), a set needing operators the
// running job did not build (a window) is refused as needing a restart, a file with an error is
// rejected, and in both cases the previous set stays live; a change of
// conditions is taken.
func TestRulesReloadThroughJob(t *testing.T) {
	rulesV := func(version, extra string) string {
		return "version: " + version + "\nrules:\n  - name: ads_all\n    when: customer.level < 9\n    target: ads\n" + extra
	}
	r := startReloadRun(t, rulesV("r1", ""))
	v, err := r.reload()
	require.NoError(t, err, "the initial load")
	require.Equal(t, "r1", v)

	// Followed, the rules decide in arrival order: a cooldown is a change
	// of the rules only, taken live.
	v, err = r.rewrite(rulesV("r2", "    cooldown: 1h\n"))
	require.NoError(t, err, "a cooldown in arrival order")
	require.Equal(t, "r2", v)

	for _, c := range []struct{ name, text, why string }{
		{"window", rulesV("r2", "  - name: interest\n    window: repeats\n    when: \"true\"\n    target: interest\n"), "the rules need other operators"},
	} {
		v, err := r.rewrite(c.text)
		require.ErrorIs(t, err, job.ErrRestartNeeded, c.name)
		require.Contains(t, err.Error(), c.why, c.name)
		require.Equal(t, "r2", v, "%s: the previous set stays live", c.name)
	}
	require.Contains(t, r.stderr.String(), `msg="rules changed: restart to apply; the previous set stays live"`)

	v, err = r.rewrite(rulesV("r3", "  - name: broken\n    when: event.nope\n    target: ads\n"))
	require.Error(t, err)
	require.NotErrorIs(t, err, job.ErrRestartNeeded)
	require.Equal(t, "r2", v)
	require.Contains(t, r.stderr.String(), `msg="rules rejected; the previous set stays live"`)

	v, err = r.rewrite(strings.Replace(rulesV("r4", ""), "level < 9", "level < 2", 1))
	require.NoError(t, err)
	require.Equal(t, "r4", v)
	require.Contains(t, r.stderr.String(), `msg="rules live" file=`+r.rules+` version=r4`)

	r.cancel()
	<-r.ended
	require.NoError(t, r.err)
	require.Contains(t, r.stdout.String(), "rules: ads_all=0\n")
}
