package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream/kafka"
)

// badTimePlays is generated plays with plays at impossible times among
// them, each by an eligible customer (active, below Gold) without another
// play, so that it would fire upgrade_ad if it got through; and the
// reference data files (-customers, -music).
type badTimePlays struct {
	lines       []string
	times       map[int64]int64 // event_id -> play time (unix ms) of the good plays
	bad         map[int64]bool  // event_ids of the bad plays
	reasons     map[int]string  // line (1-based) -> the dead letter's reason
	custs       map[string]bool // customers of the bad plays
	cust, music string
}

func newBadTimePlays(t *testing.T) badTimePlays {
	t.Helper()
	d := gen.Generate(gen.Config{Seed: 18, Plays: 60, Customers: 400, Tracks: 50})
	var buf bytes.Buffer
	require.NoError(t, gen.WritePlays(&buf, d.Plays))
	good := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	require.Len(t, good, len(d.Plays))
	dir := t.TempDir()
	p := badTimePlays{times: map[int64]int64{}, bad: map[int64]bool{}, reasons: map[int]string{}, custs: map[string]bool{},
		cust:  writeFile(t, dir, "cust.csv", func(b *bytes.Buffer) error { return gen.WriteCustomers(b, d.Customers) }),
		music: writeFile(t, dir, "music.csv", func(b *bytes.Buffer) error { return gen.WriteMusic(b, d.Tracks) })}
	played := map[int64]bool{}
	for _, pl := range d.Plays {
		p.times[pl.EventID] = pl.Time.UnixMilli()
		played[pl.CustomerID] = true
	}
	var eligible []int64
	for _, c := range d.Customers {
		if c.Level < 2 && c.Status == 1 && !played[c.ID] {
			eligible = append(eligible, c.ID)
		}
	}
	const representable = "is outside the representable time range (1678-01-01 to 2262-04-11)"
	bad := []struct{ at, reason string }{
		{"9999-12-31 23:59:59", `field datetime: "9999-12-31 23:59:59" ` + representable},
		{"2200-01-01 00:00:00", "field datetime: event time 2200-01-01T00:00:00Z is outside the event times windows can hold (1823-11-12T00:06:22Z to 2116-02-20T23:53:38Z)"},
		{"1600-01-01 00:00:00", `field datetime: "1600-01-01 00:00:00" ` + representable},
		{"2262-04-12 00:00:00", `field datetime: "2262-04-12 00:00:00" ` + representable},
	}
	require.GreaterOrEqual(t, len(eligible), len(bad))
	for i, line := range good {
		p.lines = append(p.lines, line)
		if i%10 == 5 && len(bad) > 0 { // among the good plays
			id := int64(900001 + len(p.bad))
			cust := strconv.FormatInt(eligible[len(p.bad)], 10)
			p.lines = append(p.lines, fmt.Sprintf(`%d,%s,%d,%q,0,"12345"`, id, cust, d.Tracks[0].ID, bad[0].at))
			p.reasons[len(p.lines)] = bad[0].reason
			p.bad[id] = true
			p.custs[cust] = true
			bad = bad[1:]
		}
	}
	require.Empty(t, bad)
	return p
}

// check checks what a run of the plays wrote under prefix: upgrade_ad
// fired for good plays only, each at its play's time (never a negative
// time); no interest for the bad plays' customers; each bad play is in
// queue:deadletter with its raw line, position (pos of its line) and
// reason.
func (p badTimePlays) check(t *testing.T, rdb *redis.Client, prefix string, stdout string, pos func(line int) string) {
	t.Helper()
	require.Regexp(t, regexp.MustCompile(fmt.Sprintf(`(?m)^events: \d+ in, \d+ duplicates dropped, %d dead-lettered, 0 late$`, len(p.reasons))), stdout)
	ads := readStream(t, rdb, prefix+"queue:ads")
	require.NotEmpty(t, ads, "queue:ads")
	for _, e := range ads {
		id, err := strconv.ParseInt(e["event_id"].(string), 10, 64)
		require.NoError(t, err)
		require.False(t, p.bad[id], "play %d, at an impossible time, fired upgrade_ad at %s", id, e["at"])
		at, err := strconv.ParseInt(e["at"].(string), 10, 64)
		require.NoError(t, err)
		require.GreaterOrEqual(t, at, int64(0), "an ad at a negative time")
		require.Equal(t, p.times[id], at, "the ad of play %d", id)
	}
	for _, e := range readStream(t, rdb, prefix+"queue:interest") {
		require.False(t, p.custs[e["customer_id"].(string)], "interest from a play at an impossible time: %v", e)
	}
	want := map[string][2]string{}
	for line, reason := range p.reasons {
		want[pos(line)] = [2]string{p.lines[line-1], reason}
	}
	got := map[string][2]string{}
	for _, e := range readStream(t, rdb, prefix+"queue:deadletter") {
		got[e["position"].(string)] = [2]string{e["raw"].(string), e["reason"].(string)}
	}
	require.Equal(t, want, got, "queue:deadletter by position: the raw line and the reason")
}

// Plays at times no event may have (9999-12-31, 1600 and 2262-04-12,
// beyond int64 nanoseconds; 2200, beyond what the repeats window holds)
// among the sample plays, read from a -tracks file: each is dead-lettered
// with its raw line, its position and the reason, and fires nothing (a
// 9999-12-31 play fired an ad at -4852116232933; a year-2200 play fired an
// ad and was then dead-lettered by the window with an empty raw); the run
// ends without error.
func TestOutOfRangeTimesDeadLettered(t *testing.T) {
	url, rdb, prefix := testRedis(t)
	p := newBadTimePlays(t)
	path := filepath.Join(t.TempDir(), "plays.csv")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(p.lines, "\n")+"\n"), 0o644))
	stdout, stderr, err := runOnce(t, "-once", "-tracks", path, "-customers", p.cust, "-music", p.music, "-redis", url, "-prefix", prefix, "-progress", "off", "-quiet")
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	p.check(t, rdb, prefix, stdout, func(line int) string { return fmt.Sprintf("%s:%d", path, line) })
}

// The same plays as Kafka messages (-kafka): positions are the topic,
// partition and offset.
func TestOutOfRangeTimesDeadLetteredKafka(t *testing.T) {
	url, rdb, prefix := testRedis(t)
	p := newBadTimePlays(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "plays"), kfake.GroupMinSessionTimeout(200*time.Millisecond))
	require.NoError(t, err)
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := kafka.ProduceLines(ctx, c.ListenAddrs(), "plays", strings.NewReader(strings.Join(p.lines, "\n")+"\n"), kafka.ProducerConfig{})
	require.NoError(t, err)
	require.Equal(t, int64(len(p.lines)), n)
	stdout, stderr, err := runOnce(t, "-once", "-kafka", strings.Join(c.ListenAddrs(), ","), "-topic", "plays", "-group", "times",
		"-kafka-session-timeout", "1s", "-customers", p.cust, "-music", p.music,
		"-redis", url, "-prefix", prefix, "-progress", "off", "-quiet")
	require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
	p.check(t, rdb, prefix, stdout, func(line int) string { return fmt.Sprintf("plays/0/%d", line-1) })
}
