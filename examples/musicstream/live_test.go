package main

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

// A followed file, decided live: upgrade_ad in arrival order, interest as
// soon as the events that have arrived hold a match (early), corrected by
// the event-time decision. On shuffled plays (up to 2 minutes out of
// order, within the 5m lateness, with re-deliveries), once the run has
// read them and stopped:
//   - the interest:<customer_id> sorted sets equal the event-time answer
//     (ZADD LT lowers an early match's score to the first match's time);
//   - queue:interest holds an entry for every event-time match (by its
//     completing play), and its other entries are early matches completed
//     by another play of the same (customer, track);
//   - queue:ads holds the plays the cooldown lets through in arrival
//     order (the file's order), not in event-time order.
func TestLiveDecisionsConverge(t *testing.T) {
	url, rdb, prefix := testRedis(t)
	dir := t.TempDir()
	d := gen.Generate(gen.Config{Seed: 5, Plays: 20000, Customers: 600, Tracks: 200, MeanGap: 2 * time.Second,
		Repeats: 60, NearMisses: 30, Duplicates: 0.02, MaxDelay: 2 * time.Minute})
	exp := compute(d.Plays, d.Customers)
	require.GreaterOrEqual(t, len(exp.interest), 40, "planted patterns show up")
	playsPath := writeFile(t, dir, "plays.csv", func(b *bytes.Buffer) error { return gen.WritePlays(b, d.Plays) })
	cust := writeFile(t, dir, "cust.csv", func(b *bytes.Buffer) error { return gen.WriteCustomers(b, d.Customers) })
	music := writeFile(t, dir, "music.csv", func(b *bytes.Buffer) error { return gen.WriteMusic(b, d.Tracks) })

	p := startSigProc(t, "-tracks", playsPath, "-customers", cust, "-music", music, "-redis", url, "-prefix", prefix,
		"-progress", "on", "-silence", "0")
	p.stderr.wait(t, p, fmt.Sprintf("in %d ", len(d.Plays)))
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	code, _ := p.exit(t, time.Minute)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", p.stdout, p.stderr)
	t.Log(p.stdout.String())

	interest := exp.interest
	got := map[string]map[string]float64{}
	keys, err := rdb.Keys(t.Context(), prefix+"interest:*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		zs, err := rdb.ZRangeWithScores(t.Context(), k, 0, -1).Result()
		require.NoError(t, err)
		c := k[len(prefix+"interest:"):]
		got[c] = map[string]float64{}
		for _, z := range zs {
			got[c][z.Member.(string)] = z.Score
		}
	}
	require.Equal(t, interest, got, "interest:<customer_id> sorted sets converge to the event-time answer")

	// The event-time matches' completing plays, and the pairs of each play.
	want := map[string]bool{}
	pairOf := map[string][2]int64{}
	uniq := uniqueInOrder(d.Plays)
	buf := map[[2]int64][]time.Time{}
	for _, pl := range uniq {
		k := [2]int64{pl.CustomerID, pl.TrackID}
		pairOf[strconv.FormatInt(pl.EventID, 10)] = k
		b := append(buf[k], pl.Time)
		for len(b) > 0 && pl.Time.Sub(b[0]) > 30*time.Minute {
			b = b[1:]
		}
		if len(b) >= 3 {
			want[strconv.FormatInt(pl.EventID, 10)] = true
			b = nil
		}
		buf[k] = b
	}
	entries := readStream(t, rdb, prefix+"queue:interest")
	seen := map[string]bool{}
	for _, e := range entries {
		id := e["event_id"].(string)
		require.False(t, seen[id], "play %s completes two entries", id)
		seen[id] = true
		k := pairOf[id]
		require.Contains(t, interest[strconv.FormatInt(k[0], 10)], strconv.FormatInt(k[1], 10), "entry %v is of a pair with a match", e)
	}
	for id := range want {
		require.True(t, seen[id], "the event-time match completed by play %s has its entry", id)
	}
	t.Logf("queue:interest: %d entries, %d event-time matches", len(entries), len(want))

	// upgrade_ad in arrival order: the file's order, deduplicated.
	byID := map[int64]gen.Customer{}
	for _, c := range d.Customers {
		byID[c.ID] = c
	}
	arrival := []gen.Play{}
	dup := map[int64]bool{}
	for _, pl := range d.Plays {
		if !dup[pl.EventID] {
			dup[pl.EventID] = true
			arrival = append(arrival, pl)
		}
	}
	wantAds := map[int64]bool{}
	for _, pl := range firstPerDay(arrival, func(pl gen.Play) bool {
		c, ok := byID[pl.CustomerID]
		return ok && c.Level < 2 && c.Status == 1
	}) {
		wantAds[pl.EventID] = true
	}
	ads := map[int64]bool{}
	for _, e := range readStream(t, rdb, prefix+"queue:ads") {
		id, err := strconv.ParseInt(e["event_id"].(string), 10, 64)
		require.NoError(t, err)
		ads[id] = true
	}
	require.Equal(t, wantAds, ads, "queue:ads: the cooldown in arrival order")
	// The file is out of order: arrival and event time disagree somewhere.
	inTime := slices.Clone(arrival)
	slices.SortFunc(inTime, func(a, b gen.Play) int { return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.EventID, b.EventID)) })
	require.NotEqual(t, inTime, arrival)
}
