package main

import (
	"bytes"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

// Issue 18's first probe: one play dated 2030 in the middle of the plays
// (the default lateness, 5m) used to move the watermark to 2030, so that
// every later play was late and dropped. Now it is processed like any play
// (its own ad, if its customer is eligible) and every other decision is the
// one of the run without it: Redis equals the independent computation over
// all plays, nothing is late, and the summary counts the event held ahead.
// With the guard off (max_ahead: 0s) the same input loses the plays after
// it, which shows the test can fail.
func TestFutureDatedPlayIsNotPoison(t *testing.T) {
	url, rdb, prefix := testRedis(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	d := gen.Generate(gen.Config{Seed: 7, Plays: 12000, Customers: 400, Tracks: 200, MeanGap: 2 * time.Second,
		Repeats: 40, NearMisses: 20, MaxDelay: time.Minute})
	mid := len(d.Plays) / 2
	outlier := gen.Play{EventID: 999999, CustomerID: d.Plays[mid].CustomerID, TrackID: d.Plays[mid].TrackID,
		Time: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Zip: "72132"}
	plays := slices.Insert(slices.Clone(d.Plays), mid, outlier)
	exp := compute(plays, d.Customers) // the outlier is a play too: its own ad follows its customer's level

	playsPath := writeFile(t, dir, "plays.csv", func(b *bytes.Buffer) error { return gen.WritePlays(b, plays) })
	custPath := writeFile(t, dir, "cust.csv", func(b *bytes.Buffer) error { return gen.WriteCustomers(b, d.Customers) })
	musicPath := writeFile(t, dir, "music.csv", func(b *bytes.Buffer) error { return gen.WriteMusic(b, d.Tracks) })
	args := []string{"-once", "-tracks", playsPath, "-customers", custPath, "-music", musicPath, "-redis", url, "-progress", "off"}

	stdout := runBinary(t, bin, append(args, "-prefix", prefix)...)
	require.Regexp(t, `(?m)^events: \d+ in, 0 duplicates dropped, 0 dead-lettered, 0 late`, stdout)
	checkRedis(t, rdb, prefix, exp)

	// The guard off: the plays after the outlier are late.
	off := editedJob(t, "lateness: 5m\n", "lateness: 5m\nmax_ahead: 0s\n")
	stdout = runBinary(t, bin, append(args, "-prefix", prefix+"off:", "-job", off)...)
	m := regexp.MustCompile(`(?m)^events: \d+ in, 0 duplicates dropped, 0 dead-lettered, (\d+) late`).FindStringSubmatch(stdout)
	require.NotNil(t, m, stdout)
	require.NotEqual(t, "0", m[1], "without the guard the plays after 2030 are late:\n%s", stdout)
}
