package main

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/rulestream/rulestream/stream/kafka"
)

// timeFormat is a time format of the input and the texts of the times the
// test writes in it: good plays, and times no event may have.
type timeFormat struct {
	name string
	good func(t time.Time) string
	// far are times past 2262 or before 1678 (beyond int64 nanoseconds;
	// unix seconds whose nanoseconds overflow): refused by the format.
	far []string
	// y2200 is 2200-01-01, which int64 nanoseconds hold but windows do
	// not (|t| < 2^62 ns: 1823 to 2116).
	y2200 string
	// number: the JSON input writes the times as numbers, not strings.
	number bool
}

var timeFormats = []timeFormat{
	{name: "datetime", good: func(t time.Time) string { return t.Format(time.DateTime) },
		far: []string{"9999-12-31 23:59:59", "1600-01-01 00:00:00", "2262-04-12 00:00:00"}, y2200: "2200-01-01 00:00:00"},
	{name: "rfc3339", good: func(t time.Time) string { return t.Format(time.RFC3339Nano) },
		far: []string{"9999-12-31T23:59:59Z", "1677-12-31T23:59:59+00:00"}, y2200: "2200-01-01T00:00:00Z"},
	{name: "02/01/2006 15:04:05", good: func(t time.Time) string { return t.Format("02/01/2006 15:04:05") },
		far: []string{"31/12/9999 23:59:59", "01/01/1600 00:00:00"}, y2200: "01/01/2200 00:00:00"},
	{name: "unix", good: func(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) },
		far: []string{"253402300799", "9300000000", "18446744074", "-11676096000"}, y2200: "7258118400"},
	{name: "unix_ms", good: func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) },
		far: []string{"253402300799000", "9300000000000", "-11676096000000"}, y2200: "7258118400000"},
	{name: "unix_us", good: func(t time.Time) string { return strconv.FormatInt(t.UnixMicro(), 10) },
		far: []string{"253402300799000000", "-11676096000000000"}, y2200: "7258118400000000"},
	{name: "unix_ns", good: func(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 10) },
		far: []string{"9223372036854775808", "99999999999999999999", "-9223372036854775808"}, y2200: "7258118400000000000"},
}

// timeDecoder is a way the input is written.
type timeDecoder struct {
	name   string
	input  string // the job's input: lines after the source (path or kafka)
	header string
	line   func(id int, user, at string, number bool) string
}

var timeDecoders = []timeDecoder{
	{name: "columns", input: "  format: csv\n  columns: [id, user, ts]\n",
		line: func(id int, user, at string, _ bool) string { return fmt.Sprintf("%d,%s,%q", id, user, at) }},
	{name: "header", input: "  format: csv\n  header: true\n", header: "ts,user,id\n",
		line: func(id int, user, at string, _ bool) string { return fmt.Sprintf("%q,%s,%d", at, user, id) }},
	{name: "json", input: "  format: json\n",
		line: func(id int, user, at string, number bool) string {
			if !number {
				at = strconv.Quote(at)
			}
			return fmt.Sprintf(`{"id": %d, "user": %q, "ts": %s}`, id, user, at)
		}},
}

// timesJob is a job reading source (the YAML lines of a path or kafka)
// written by dec, its time in format: every play fires the rule every
// (its at, the play's time in ms, is written to the stream hits), two
// plays of a user within an hour fire pair (to pairs, through the
// count_within window repeats, unless windows is false), and dead letters
// go to the stream dl.
func timesJob(t *testing.T, source string, dec timeDecoder, format string, windows bool) string {
	t.Helper()
	var win, pair string
	if windows {
		win = "windows:\n  - name: repeats\n    type: count_within\n    key: user\n    count: 2\n    within: 1h\n"
		pair = "  - name: pair\n    window: repeats\n    when: \"true\"\n    target: pairs\n"
	}
	src := "name: times\ninput:\n" + source + dec.input + `  fields:
    id: int
    user: string
    ts: {type: time, format: "` + format + `"}
  time: ts
  id: id
  key: user
lateness: 1h
` + win + `rules:
  - name: every
    when: "true"
    target: hits
` + pair + `targets:
  - name: hits
    type: stream
    key: hits
    fields: [id, user, at]
  - name: pairs
    type: stream
    key: pairs
    fields: [user, at]
  - name: deadletter
    type: stream
    key: dl
    fields: [source, position, reason, raw]
`
	path := filepath.Join(t.TempDir(), "job.yaml")
	writeFile(t, path, src)
	return path
}

// timesInput is the plays of a test: good plays of u1 (two within an hour:
// a pair), u2 and u3, among plays at impossible times.
type timesInput struct {
	lines   []string       // without the header
	good    map[int]int64  // id -> at (unix ms)
	reasons map[int]string // line (1-based, header excluded) -> the dead letter's reason
	pairAt  int64          // the pair's at (unix ms)
}

func writeTimes(f timeFormat, dec timeDecoder, windows bool) timesInput {
	base := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	in := timesInput{good: map[int]int64{}, reasons: map[int]string{}}
	id := 0
	add := func(user, at string) {
		id++
		in.lines = append(in.lines, dec.line(id, user, at, f.number))
	}
	good := func(user string, at time.Time) {
		add(user, f.good(at))
		in.good[id] = at.UnixMilli()
	}
	bad := func(at, reason string) {
		add("u9", at)
		in.reasons[len(in.lines)] = reason
	}
	good("u1", base)
	for _, far := range f.far {
		bad(far, fmt.Sprintf("field ts: %q is outside the representable time range (1678-01-01 to 2262-04-11)", far))
	}
	good("u2", base.Add(time.Minute))
	if windows {
		bad(f.y2200, "field ts: event time 2200-01-01T00:00:00Z is outside the event times windows can hold (1823-11-12T00:06:22Z to 2116-02-20T23:53:38Z)")
	}
	good("u1", base.Add(2*time.Minute))
	in.pairAt = base.Add(2 * time.Minute).UnixMilli()
	good("u3", base.Add(3*time.Minute))
	return in
}

// checkTimes checks what a run of in wrote under prefix: every good play
// fired every (with its at, never negative) and nothing else did; the pair
// fired once; each bad line is in the dead letter with its raw bytes, its
// position (pos of its 1-based line) and the reason.
func checkTimes(t *testing.T, rdb *redis.Client, prefix string, in timesInput, windows bool, pos func(line int) string) {
	t.Helper()
	ctx := context.Background()
	hits, err := rdb.XRange(ctx, prefix+"hits", "-", "+").Result()
	require.NoError(t, err)
	got := map[int]int64{}
	for _, h := range hits {
		id, err := strconv.Atoi(h.Values["id"].(string))
		require.NoError(t, err)
		at, err := strconv.ParseInt(h.Values["at"].(string), 10, 64)
		require.NoError(t, err)
		require.GreaterOrEqual(t, at, int64(0), "play %d fired at a negative time", id)
		got[id] = at
	}
	require.Equal(t, in.good, got, "hits: the good plays, at their times")
	pairs, err := rdb.XRange(ctx, prefix+"pairs", "-", "+").Result()
	require.NoError(t, err)
	if windows {
		require.Len(t, pairs, 1, "pairs")
		require.Equal(t, map[string]any{"user": "u1", "at": strconv.FormatInt(in.pairAt, 10)}, pairs[0].Values)
	} else {
		require.Empty(t, pairs)
	}
	dl, err := rdb.XRange(ctx, prefix+"dl", "-", "+").Result()
	require.NoError(t, err)
	want := map[string][2]string{} // position -> raw, reason
	for line, reason := range in.reasons {
		want[pos(line)] = [2]string{in.lines[line-1], reason}
	}
	gotDL := map[string][2]string{}
	for _, m := range dl {
		gotDL[m.Values["position"].(string)] = [2]string{m.Values["raw"].(string), m.Values["reason"].(string)}
	}
	require.Equal(t, want, gotDL, "the dead letters by position: raw line and reason")
}

// Times no event may have, in every time format and through every decoder
// of cmd/rulestream (positional CSV, CSV with a header, JSON lines with
// the time as a string or a number), as the binary runs a job with -once:
// a time beyond int64 nanoseconds (9999-12-31, 1600, unix seconds whose
// nanoseconds overflow) and, in a job with windows, a year-2200 time are
// dead-lettered with the raw line, the position and a reason naming the
// field and the time; no rule fires on them (an ad fired at
// -4852116232933 for 9999-12-31; the year-2200 play fired, then the
// window dead-lettered it with an empty raw); the run ends without error.
func TestOutOfRangeTimesDeadLettered(t *testing.T) {
	var formats []timeFormat
	for _, f := range timeFormats {
		formats = append(formats, f)
		if strings.HasPrefix(f.name, "unix") {
			n := f
			n.number = true
			formats = append(formats, n)
		}
	}
	for _, f := range formats {
		for _, dec := range timeDecoders {
			if f.number && dec.name != "json" {
				continue
			}
			for _, windows := range []bool{true, false} {
				if !windows && (dec.name != "columns" || f.number) {
					continue // without windows: one decoder is enough
				}
				name := fmt.Sprintf("%s/%s/windows=%t", dec.name, f.name, windows)
				if f.number {
					name = fmt.Sprintf("%s/%s number/windows=%t", dec.name, f.name, windows)
				}
				t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
					rdb, url, prefix := testRedis(t)
					dir := t.TempDir()
					input := filepath.Join(dir, "plays")
					in := writeTimes(f, dec, windows)
					writeFile(t, input, dec.header+strings.Join(in.lines, "\n")+"\n")
					o := newOptions(timesJob(t, "  path: "+input+"\n", dec, f.name, windows), url, prefix)
					o.once = true
					stdout, stderr, err := runJob(t, o)
					require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
					require.Regexp(t, fmt.Sprintf(`(?m)^events: \d+ in, 0 duplicates dropped, %d dead-lettered, 0 late$`, len(in.reasons)), stdout)
					first := 1
					if dec.header != "" {
						first = 2
					}
					checkTimes(t, rdb, prefix, in, windows, func(line int) string { return fmt.Sprintf("%s:%d", input, line+first-1) })
				})
			}
		}
	}
}

// The same through Kafka: each message is a line, its position the
// topic, partition and offset.
func TestOutOfRangeTimesDeadLetteredKafka(t *testing.T) {
	for _, c := range []struct {
		dec timeDecoder
		f   timeFormat
	}{
		{timeDecoders[0], timeFormats[0]}, // positional CSV, datetime
		{timeDecoders[2], timeFormats[3]}, // JSON, unix seconds
	} {
		t.Run(c.dec.name+"_"+c.f.name, func(t *testing.T) {
			rdb, url, prefix := testRedis(t)
			cl, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "plays"), kfake.GroupMinSessionTimeout(200*time.Millisecond))
			require.NoError(t, err)
			t.Cleanup(cl.Close)
			in := writeTimes(c.f, c.dec, true)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			n, err := kafka.ProduceLines(ctx, cl.ListenAddrs(), "plays", strings.NewReader(strings.Join(in.lines, "\n")+"\n"), kafka.ProducerConfig{})
			require.NoError(t, err)
			require.Equal(t, int64(len(in.lines)), n)
			source := fmt.Sprintf("  kafka:\n    brokers: [%s]\n    topic: plays\n    group: times\n", strings.Join(cl.ListenAddrs(), ", "))
			o := newOptions(timesJob(t, source, c.dec, c.f.name, true), url, prefix)
			o.once = true
			stdout, stderr, err := runJob(t, o)
			require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Regexp(t, regexp.MustCompile(fmt.Sprintf(`(?m)^events: \d+ in, 0 duplicates dropped, %d dead-lettered, 0 late$`, len(in.reasons))), stdout)
			checkTimes(t, rdb, prefix, in, true, func(line int) string { return fmt.Sprintf("plays/0/%d", line-1) })
		})
	}
}

// The built binary on such an input exits 0, as a complete -once run does:
// impossible times are bad input, dead-lettered, not a failure of the run.
func TestOutOfRangeTimesExitZero(t *testing.T) {
	rdb, url, prefix := testRedis(t)
	dec, f := timeDecoders[0], timeFormats[0]
	input := filepath.Join(t.TempDir(), "plays.csv")
	in := writeTimes(f, dec, true)
	writeFile(t, input, strings.Join(in.lines, "\n")+"\n")
	jobPath := timesJob(t, "  path: "+input+"\n", dec, f.name, true)
	stdout, stderr, code := runBinary(t, nil, "-job", jobPath, "-once", "-redis", url, "-prefix", prefix, "-progress", "off", "-quiet")
	require.Equal(t, 0, code, "exit code\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	checkTimes(t, rdb, prefix, in, true, func(line int) string { return fmt.Sprintf("%s:%d", input, line) })
}
