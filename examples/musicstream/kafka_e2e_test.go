package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/internal/testredis"
	"github.com/rulestream/rulestream/stream/checkpoint"
	"github.com/rulestream/rulestream/stream/kafka"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
)

// kafkaFixture is a kfake broker over TCP with a topic of generated plays,
// and the reference data files.
type kafkaFixture struct {
	brokers     string
	topic       string
	cust, music string
	url         string
	rdb         redis.UniversalClient
	prefix      string // unique to the test; each run takes a prefix under it
	bin         string
}

func newKafkaFixture(t *testing.T, plays int, partitions int32) *kafkaFixture {
	return newKafkaFixtureOn(t, testredis.Backends[0], plays, partitions)
}

// newKafkaFixtureOn is newKafkaFixture writing to backend b.
func newKafkaFixtureOn(t *testing.T, b testredis.Backend, plays int, partitions int32) *kafkaFixture {
	url, rdb, prefix := testRedisOn(t, b)
	bin := buildBinary(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "plays"),
		kfake.GroupMinSessionTimeout(200*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	d := gen.Generate(gen.Config{Seed: 7, Plays: plays, Customers: 2000, Tracks: 200, MeanGap: time.Second,
		Repeats: plays / 500, NearMisses: plays / 2000, Duplicates: 0.01, MaxDelay: time.Minute})
	var buf bytes.Buffer
	require.NoError(t, gen.WritePlays(&buf, d.Plays))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	n, err := kafka.ProduceLines(ctx, c.ListenAddrs(), "plays", &buf, kafka.ProducerConfig{Key: kafka.CSVColumn(1)})
	require.NoError(t, err)
	require.Equal(t, int64(len(d.Plays)), n)
	dir := t.TempDir()
	return &kafkaFixture{
		brokers: strings.Join(c.ListenAddrs(), ","), topic: "plays", url: url, rdb: rdb, prefix: prefix, bin: bin,
		cust:  writeFile(t, dir, "cust.csv", func(b *bytes.Buffer) error { return gen.WriteCustomers(b, d.Customers) }),
		music: writeFile(t, dir, "music.csv", func(b *bytes.Buffer) error { return gen.WriteMusic(b, d.Tracks) }),
	}
}

func (f *kafkaFixture) args(group, prefix string, extra ...string) []string {
	return append([]string{"-kafka", f.brokers, "-topic", f.topic, "-group", group, "-redis", f.url, "-prefix", prefix,
		"-customers", f.cust, "-music", f.music, "-progress", "off",
		"-kafka-session-timeout", "1s", "-checkpoint-interval", "200ms"}, extra...)
}

// syncBuffer is an output buffer safe to read while a process writes it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// start runs the binary in the background.
func (f *kafkaFixture) start(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(f.bin, args...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	return cmd, out
}

// waitOutput polls a process's output until it holds s (true) or a minute
// passes (false).
func waitOutput(out *syncBuffer, s string) bool {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if strings.Contains(out.String(), s) {
			return true
		}
		time.Sleep(5 * time.Millisecond) // polling a process outside the test
	}
	return false
}

// targetDigest summarises every target key under prefix with the prefix
// removed: sorted sets exactly, streams as sorted lists of their entries'
// fields (entry ids are Redis's and partitions interleave freely).
// Checkpoints, idempotency markers, reference data and the source
// monitor's history and alerts (a live run's, not a -once run's) are left
// out.
func targetDigest(t *testing.T, rdb redis.UniversalClient, prefix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	keys, err := testredis.Keys(ctx, rdb, prefix+"*")
	require.NoError(t, err)
	for _, k := range keys {
		name := strings.TrimPrefix(k, prefix)
		if strings.HasPrefix(name, "checkpoint:") || strings.HasPrefix(name, "rulestream:") ||
			strings.HasPrefix(name, "customer:") || strings.HasPrefix(name, "track:") ||
			strings.HasPrefix(name, "source:history:") || name == "queue:alerts" {
			continue
		}
		switch typ := rdb.Type(ctx, k).Val(); typ {
		case "stream":
			var entries []string
			for _, e := range readStream(t, rdb, k) {
				entries = append(entries, fmt.Sprint(e))
			}
			sort.Strings(entries)
			out[name] = strings.Join(entries, "\n")
		case "zset":
			out[name] = fmt.Sprint(rdb.ZRangeWithScores(ctx, k, 0, -1).Val())
		default:
			out[name] = typ
		}
	}
	return out
}

// TestKafkaCrashRecoveryEqualsCleanRun runs on a single Redis and on a Redis
// Cluster.
func TestKafkaCrashRecoveryEqualsCleanRun(t *testing.T) {
	if testing.Short() {
		t.Skip("long: SIGKILLs the pipeline several times")
	}
	testredis.Run(t, testKafkaCrashRecoveryEqualsCleanRun)
}

func testKafkaCrashRecoveryEqualsCleanRun(t *testing.T, b testredis.Backend) {
	f := newKafkaFixtureOn(t, b, 200_000, 6)
	ref, crash := f.prefix+"ref:", f.prefix+"crash:"

	t.Log(runBinary(t, f.bin, f.args("ref", ref, "-once")...))
	want := targetDigest(t, f.rdb, ref)
	require.Contains(t, want, "queue:ads")
	require.Contains(t, want, "queue:interest")

	// Kill at random points spread over the run: kill i comes once the
	// ads stream has grown past a random point of the i-th sixth of what
	// the clean run wrote.
	total := f.rdb.XLen(context.Background(), ref+"queue:ads").Val()
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for kill := 0; kill < 5; kill++ {
		at := total*int64(kill)/6 + r.Int64N(total/6)
		cmd, out := f.start(t, f.args("crash", crash, "-once")...)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		if !f.waitAds(crash, at, done) {
			t.Fatalf("run ended before kill %d at %d of %d ads: %s", kill+1, at, total, out)
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		<-done
		t.Logf("kill %d after %d of %d ads", kill+1, f.rdb.XLen(context.Background(), crash+"queue:ads").Val(), total)
	}
	ckpt, err := checkpoint.NewRedis(f.rdb, crash+"checkpoint:").Keys(context.Background())
	require.NoError(t, err)
	t.Logf("%d partitions checkpointed before the last run", len(ckpt))
	runBinary(t, f.bin, f.args("crash", crash, "-once")...)
	got := targetDigest(t, f.rdb, crash)
	require.Equal(t, len(want), len(got))
	for k, v := range want {
		require.Equal(t, v, got[k], "key %s", k)
	}
}

func TestKafkaRebalanceEqualsSingleProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("long: runs several processes")
	}
	f := newKafkaFixture(t, 200_000, 6)
	single, multi := f.prefix+"single:", f.prefix+"multi:"

	runBinary(t, f.bin, f.args("single", single, "-once")...)
	want := targetDigest(t, f.rdb, single)

	// Three long-running members split the six partitions; one is killed
	// halfway, another joins; then all stop gracefully (SIGTERM: drain,
	// checkpoint, flush) and a last -once run finishes what is left.
	var procs []*exec.Cmd
	var outs []*syncBuffer
	for i := 0; i < 3; i++ {
		cmd, out := f.start(t, f.args("multi", multi)...)
		procs, outs = append(procs, cmd), append(outs, out)
	}
	total := f.rdb.XLen(context.Background(), single+"queue:ads").Val()
	require.True(t, f.waitAds(multi, total/4, nil), "the group makes progress")
	require.NoError(t, procs[1].Process.Signal(syscall.SIGKILL))
	_ = procs[1].Wait()
	t.Logf("killed one member after %d of %d ads", f.rdb.XLen(context.Background(), multi+"queue:ads").Val(), total)
	joiner, jout := f.start(t, f.args("multi", multi)...)
	procs, outs = append(procs[:1], procs[2], joiner), append(outs[:1], outs[2], jout)
	require.True(t, waitOutput(jout, "kafka: assigned"), "the new member joins the group: %s", jout)
	t.Logf("a member joined after %d of %d ads", f.rdb.XLen(context.Background(), multi+"queue:ads").Val(), total)
	for _, p := range procs {
		require.NoError(t, p.Process.Signal(syscall.SIGTERM))
	}
	for i, p := range procs {
		require.NoError(t, p.Wait(), "%s", outs[i])
	}
	runBinary(t, f.bin, f.args("multi", multi, "-once")...)
	got := targetDigest(t, f.rdb, multi)
	for k, v := range want {
		require.Equal(t, v, got[k], "key %s", k)
	}
	require.Equal(t, len(want), len(got))
}

// waitAds polls the ads stream of prefix until it holds at least n entries
// (true), the process ends (false), or two minutes pass (false). The
// processes are outside the test: polling Redis is how it sees them.
func (f *kafkaFixture) waitAds(prefix string, n int64, done <-chan error) bool {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if f.rdb.XLen(context.Background(), prefix+"queue:ads").Val() >= n {
			return true
		}
		select {
		case err := <-done:
			_ = err
			return false
		case <-time.After(5 * time.Millisecond):
		}
	}
	return false
}

// TestKafkaProduceThenConsume is the README's Kafka walk-through: -produce
// creates the topic and publishes a plays file keyed by customer, and a
// -once consumer processes all of it.
func TestKafkaProduceThenConsume(t *testing.T) {
	url, rdb, prefix := testRedis(t)
	bin := buildBinary(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(200*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	brokers := strings.Join(c.ListenAddrs(), ",")
	dir := t.TempDir()
	d := gen.Generate(gen.Config{Seed: 5, Plays: 5000, Customers: 300})
	plays := writeFile(t, dir, "plays.csv", func(b *bytes.Buffer) error { return gen.WritePlays(b, d.Plays) })
	cust := writeFile(t, dir, "cust.csv", func(b *bytes.Buffer) error { return gen.WriteCustomers(b, d.Customers) })
	out := runBinary(t, bin, "-kafka", brokers, "-topic", "walk", "-partitions", "4", "-produce", "-tracks", plays)
	require.Contains(t, out, fmt.Sprintf("produced %d plays to walk", len(d.Plays)))
	cmd := exec.Command(bin, "-kafka", brokers, "-topic", "walk", "-group", "walkers", "-once", "-customers", cust,
		"-redis", url, "-prefix", prefix, "-progress", "off", "-kafka-session-timeout", "1s")
	both, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", both)
	require.Contains(t, string(both), fmt.Sprintf("events: %d in,", len(d.Plays)))
	ckpt, err := checkpoint.NewRedis(rdb, prefix+"checkpoint:").Keys(context.Background())
	require.NoError(t, err)
	ckpt = slices.DeleteFunc(ckpt, func(k string) bool { return !strings.HasPrefix(k, "musicstream/walk/") })
	require.Len(t, ckpt, 4, "one checkpoint per partition")
}
