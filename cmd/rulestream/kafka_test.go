package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rulestream/rulestream/stream/checkpoint"
)

// writeKafkaLoginsJob writes examples/logins/job.yaml into dir with a Kafka
// input (topic logins, group group) instead of its file.
func writeKafkaLoginsJob(t *testing.T, dir string, brokers []string, group string) string {
	t.Helper()
	return writeLoginsJob(t, dir, fmt.Sprintf("  kafka:\n    brokers: [%s]\n    topic: logins\n    group: %s\n", strings.Join(brokers, ", "), group))
}

// produceLogins publishes each login (its JSON line, keyed by user) to the
// topic and returns the logins of each partition, in offset order.
func produceLogins(t *testing.T, brokers []string, topic string, ls []login) map[int32][]login {
	t.Helper()
	sc := sarama.NewConfig()
	sc.Producer.Return.Successes = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	p, err := sarama.NewSyncProducer(brokers, sc)
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Close()) }()
	msgs := make([]*sarama.ProducerMessage, len(ls))
	for i, l := range ls {
		msgs[i] = &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(l.User), Value: sarama.ByteEncoder(l.raw)}
	}
	require.NoError(t, p.SendMessages(msgs))
	parts := map[int32][]login{}
	for i, m := range msgs {
		require.Equal(t, int64(len(parts[m.Partition])), m.Offset, "offsets of partition %d", m.Partition)
		parts[m.Partition] = append(parts[m.Partition], ls[i])
	}
	return parts
}

// The login job reading a Kafka topic of two partitions (JSON messages
// keyed by user) with -once: each partition has its own operators, so
// per-user results equal the whole file's, while the hourly windows (keyed
// by country) count each partition's failures apart. Each partition's
// checkpoint holds its next offset.
func TestKafkaLogins(t *testing.T) {
	rdb, url, prefix := testRedis(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "logins"), kfake.GroupMinSessionTimeout(200*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	ls := readLogins(t, filepath.Join(loginsDir, "data", "logins.jsonl"))
	parts := produceLogins(t, c.ListenAddrs(), "logins", ls)
	require.Len(t, parts, 2, "both partitions have logins")

	admins := adminsWithoutMFA(readAccounts(t))
	want := computeLogins(ls, admins)
	// Per partition: the same per-user results; spikes per partition.
	var wantMatches, wantHours, wantSpikes, wantDup int
	candidates := map[string][][2]int{}
	for _, pl := range parts {
		w := computeLogins(pl, admins)
		wantMatches += w.failureMatches
		wantHours += w.hours
		wantSpikes += len(w.spikes)
		wantDup += w.duplicates
		for k, v := range w.spikes {
			candidates[k] = append(candidates[k], v)
		}
	}
	require.Equal(t, want.duplicates, wantDup, "a login's deliveries share its user, hence its partition")

	o := newOptions(writeKafkaLoginsJob(t, t.TempDir(), c.ListenAddrs(), "rulestream-test"), url, prefix)
	o.once = true
	stdout, stderr, err := runJob(t, o)
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	t.Log(stdout)

	requireLine(t, stdout, fmt.Sprintf("events: %d in, %d duplicates dropped, 0 dead-lettered, 0 late", len(ls), want.duplicates))
	requireLine(t, stdout, fmt.Sprintf("window failures: %d results, 0 evictions", wantMatches))
	requireLine(t, stdout, fmt.Sprintf("window hourly_failures: %d results, 0 evictions", wantHours))
	requireLine(t, stdout, fmt.Sprintf("rules: admin_without_mfa=%d brute_force=%d failure_spike=%d",
		want.auditCount(), len(want.alerts), wantSpikes))
	require.Regexp(t, `(?m)^watermark: end, [1-9]\d* checkpoints$`, stdout)

	got := readLoginTargets(t, rdb, prefix)
	requirePerUser(t, want, got)
	// A spike hash holds one partition's count of its hour: both
	// partitions' emissions have the same id (rule, country, window), and
	// the first written wins.
	require.Len(t, got.spikes, len(candidates), "spike hashes: %v, per partition %v", got.spikes, candidates)
	for k, v := range got.spikes {
		require.Contains(t, candidates[k], v, "spike hash %s", k)
	}

	// One checkpoint per partition, at its end.
	cpPrefix := prefix + "checkpoint:logins/" // the job's
	store := checkpoint.NewRedis(rdb, cpPrefix)
	keys, err := store.Keys(context.Background())
	require.NoError(t, err)
	require.Len(t, keys, 2, "checkpoints under %s", cpPrefix)
	for _, k := range keys {
		require.True(t, strings.HasPrefix(k, "logins/"), k)
		var part int32
		_, err := fmt.Sscan(k[strings.LastIndexByte(k, '/')+1:], &part)
		require.NoError(t, err, k)
		cp, err := store.Load(context.Background(), k)
		require.NoError(t, err)
		require.Equal(t, int64(len(parts[part])), cp.Offset, "checkpoint %s", k)
		require.NotNil(t, cp.Delta, "checkpoint %s is incremental", k)
		require.Greater(t, cp.Delta.Size(), 16, "checkpoint %s holds the operators' state", k)
	}
}
