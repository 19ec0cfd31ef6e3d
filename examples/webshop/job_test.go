package webshop_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/rulestream/rulestream/examples/webshop/shopgen"
	"github.com/rulestream/rulestream/internal/testredis"
)

// The committed sample data is the generator's.
func TestSampleDataIsGenerated(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, shopgen.WriteEvents(&buf, shopgen.Generate(shopgen.Sample).Events))
	got, err := os.ReadFile("data/events.jsonl")
	require.NoError(t, err)
	require.True(t, bytes.Equal(buf.Bytes(), got),
		"data/events.jsonl differs from the generator's: go run ./examples/webshop/data/generate.go examples/webshop/data")
	require.Less(t, len(got), 1<<20, "the committed data stays under 1 MB")
}

// The generator plants what it says, arrival stays within the job's
// lateness, and a seed gives one data set.
func TestGenerator(t *testing.T) {
	d := shopgen.Generate(shopgen.Sample)
	require.Equal(t, d, shopgen.Generate(shopgen.Sample))
	tr := d.Truth
	c := shopgen.Sample
	require.Len(t, tr.Abandoned, c.Abandoned)
	require.Len(t, tr.Fraud, c.Fraud)
	require.Len(t, tr.NearMisses, c.NearMisses+(c.Fraud+3)/5) // and the retries after every fifth shape
	require.Len(t, tr.Sprees, c.Sprees)
	require.Len(t, tr.SpreeMiss, c.SpreeNearMisses)
	require.Len(t, tr.Known, c.Returns/2)
	require.Len(t, tr.NewDevices, c.NewDevices+c.Returns+c.Returns/2)
	var newest time.Time
	seen := map[int64]bool{}
	dups := 0
	for _, e := range d.Events {
		if seen[e.ID] {
			dups++
		}
		seen[e.ID] = true
		// The job's lateness is 2 minutes: nothing arrives later than that.
		require.Less(t, newest.Sub(e.Time), 2*time.Minute, "event %d", e.ID)
		if e.Time.After(newest) {
			newest = e.Time
		}
	}
	require.NotZero(t, dups)
}

func buildRunner(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rulestream")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/rulestream").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return bin
}

// event is a shop event as the test reads it back from the JSON lines,
// apart from the code under test.
type event struct {
	ID     int64     `json:"event_id"`
	User   string    `json:"user"`
	Kind   string    `json:"kind"`
	Item   string    `json:"item"`
	Amount float64   `json:"amount"`
	Device string    `json:"device"`
	Time   time.Time `json:"time"`
}

// abandoned is an abandoned cart: the cart, and the deadline it fires at.
type abandoned struct {
	user, item string
	id         int64
	amount     float64
	cart, at   time.Time
}

// fraud is a fraud review: the purchase completing the match, the first
// and third failed payments.
type fraud struct {
	user                 string
	id, firstID          int64
	amount, failedAmount float64
	first, third, at     time.Time
}

// newDevice is a login from a device new to its user.
type newDevice struct {
	user, device string
	id           int64
	at           time.Time
}

// spree is a view bringing a user's distinct items to 5.
type spree struct {
	user, item string
	id         int64
	distinct   int
	first, at  time.Time
}

type expected struct {
	abandoned    map[string][]abandoned
	abandonedSet map[string]map[string]time.Time // user -> item -> first abandoned cart's time
	fraud        map[string][]fraud
	newDevice    map[string][]newDevice
	devices      map[string]map[string]time.Time // user -> device -> first time it was new
	spree        map[string][]spree
}

// compute is the job's answer, written plainly from the definitions in
// docs/jobs.md: deliveries of one event_id count once, and each user's
// events are taken in event-time order, ties by event_id.
func compute(evs []event) expected {
	seen := map[int64]bool{}
	byUser := map[string][]event{}
	for _, e := range evs {
		if !seen[e.ID] {
			seen[e.ID] = true
			byUser[e.User] = append(byUser[e.User], e)
		}
	}
	exp := expected{abandoned: map[string][]abandoned{}, abandonedSet: map[string]map[string]time.Time{},
		fraud: map[string][]fraud{}, newDevice: map[string][]newDevice{}, devices: map[string]map[string]time.Time{},
		spree: map[string][]spree{}}
	for user, es := range byUser {
		slices.SortFunc(es, func(a, b event) int { return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID)) })

		// absence: a cart that no purchase after it (in that order) follows
		// within 30 minutes, an end at exactly 30 minutes counting; it fires
		// at cart + 30m.
		for i, c := range es {
			if c.Kind != "cart" {
				continue
			}
			ended := false
			for _, p := range es[i+1:] {
				if p.Kind == "purchase" && !p.Time.After(c.Time.Add(30*time.Minute)) {
					ended = true
					break
				}
			}
			if !ended {
				exp.abandoned[user] = append(exp.abandoned[user], abandoned{user: user, item: c.Item, id: c.ID, amount: c.Amount,
					cart: c.Time, at: c.Time.Add(30 * time.Minute)})
				if exp.abandonedSet[user] == nil {
					exp.abandonedSet[user] = map[string]time.Time{}
				}
				if _, ok := exp.abandonedSet[user][c.Item]; !ok {
					exp.abandonedSet[user][c.Item] = c.Time
				}
			}
		}

		// sequence: payment_failed ×3 then purchase, the last at most 10
		// minutes after the first. The match's first event is the earliest
		// failure from which the steps complete in time, each step taking
		// the earliest later event matching it; the next match starts after
		// the match's last event.
		steps := []string{"payment_failed", "payment_failed", "payment_failed", "purchase"}
		from := 0
	matches:
		for {
			for i := from; i < len(es); i++ {
				if es[i].Kind != steps[0] {
					continue
				}
				m := []int{i}
				for k := i + 1; k < len(es) && len(m) < len(steps); k++ {
					if es[k].Kind == steps[len(m)] {
						m = append(m, k)
					}
				}
				if len(m) < len(steps) {
					break matches // no later start can complete either
				}
				f, l := es[m[0]], es[m[len(m)-1]]
				if l.Time.Sub(f.Time) <= 10*time.Minute {
					exp.fraud[user] = append(exp.fraud[user], fraud{user: user, id: l.ID, firstID: f.ID, amount: l.Amount,
						failedAmount: f.Amount, first: f.Time, third: es[m[2]].Time, at: l.Time})
					from = m[len(m)-1] + 1
					continue matches
				}
			}
			break
		}

		// new_value: a login whose device the user has not shown in the 7
		// days before it (a login exactly 7 days before counts as seen).
		last := map[string]time.Time{}
		for _, e := range es {
			if e.Kind != "login" || e.Device == "" {
				continue
			}
			if l, ok := last[e.Device]; !ok || e.Time.Sub(l) > 7*24*time.Hour {
				exp.newDevice[user] = append(exp.newDevice[user], newDevice{user: user, device: e.Device, id: e.ID, at: e.Time})
				if exp.devices[user] == nil {
					exp.devices[user] = map[string]time.Time{}
				}
				if _, ok := exp.devices[user][e.Device]; !ok {
					exp.devices[user][e.Device] = e.Time
				}
			}
			last[e.Device] = e.Time
		}

		// distinct_count: a view that brings the distinct items among the
		// user's views in [t-10m, t] to 5 (each item at its latest view);
		// the match consumes its views.
		items := map[string]time.Time{}
		for _, e := range es {
			if e.Kind != "view" || e.Item == "" {
				continue
			}
			for it, at := range items {
				if e.Time.Sub(at) > 10*time.Minute {
					delete(items, it)
				}
			}
			items[e.Item] = e.Time
			if len(items) == 5 {
				first := e.Time
				for _, at := range items {
					if at.Before(first) {
						first = at
					}
				}
				exp.spree[user] = append(exp.spree[user], spree{user: user, item: e.Item, id: e.ID, distinct: 5, first: first, at: e.Time})
				clear(items)
			}
		}
	}
	return exp
}

func ms(t *testing.T, s any) time.Time {
	t.Helper()
	n, err := strconv.ParseInt(s.(string), 10, 64)
	require.NoError(t, err)
	return time.UnixMilli(n).UTC()
}

func rfc(t *testing.T, s any) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s.(string))
	require.NoError(t, err)
	return v.UTC()
}

func num[T int64 | float64 | int](t *testing.T, s any) T {
	t.Helper()
	f, err := strconv.ParseFloat(s.(string), 64)
	require.NoError(t, err)
	return T(f)
}

// readStream reads a stream, each entry turned into an R by parse, grouped
// by user in the stream's order.
func readStream[R any](t *testing.T, rdb *redis.Client, key string, parse func(v map[string]any) (string, R)) (map[string][]R, int) {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), key, "-", "+").Result()
	require.NoError(t, err)
	got := map[string][]R{}
	for _, m := range msgs {
		user, r := parse(m.Values)
		got[user] = append(got[user], r)
	}
	return got, len(msgs)
}

// readZSets reads the sorted sets under prefix+pattern+<user>: member ->
// score as unix ms.
func readZSets(t *testing.T, rdb *redis.Client, prefix, pattern string) map[string]map[string]time.Time {
	t.Helper()
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, prefix+pattern+"*").Result()
	require.NoError(t, err)
	got := map[string]map[string]time.Time{}
	for _, k := range keys {
		zs, err := rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
		require.NoError(t, err)
		m := map[string]time.Time{}
		for _, z := range zs {
			m[z.Member.(string)] = time.UnixMilli(int64(z.Score)).UTC()
		}
		got[k[len(prefix+pattern):]] = m
	}
	return got
}

func count[R any](m map[string][]R) int {
	n := 0
	for _, rs := range m {
		n += len(rs)
	}
	return n
}

// results are what the job wrote, read back from Redis: the streams'
// entries per user in the streams' order, the sorted sets per user.
type results struct {
	abandoned    map[string][]abandoned
	abandonedSet map[string]map[string]time.Time
	fraud        map[string][]fraud
	fraudUsers   []string
	newDevice    map[string][]newDevice
	devices      map[string]map[string]time.Time
	spree        map[string][]spree
	entries      [4]int // of shop:abandoned, shop:fraud_review, shop:new_device, shop:browsing
}

func readResults(t *testing.T, rdb *redis.Client, prefix string) results {
	t.Helper()
	var r results
	r.abandoned, r.entries[0] = readStream(t, rdb, prefix+"shop:abandoned", func(v map[string]any) (string, abandoned) {
		return v["user"].(string), abandoned{user: v["user"].(string), item: v["item"].(string), id: num[int64](t, v["event_id"]),
			amount: num[float64](t, v["amount"]), cart: rfc(t, v["cart_time"]), at: ms(t, v["at"])}
	})
	r.abandonedSet = readZSets(t, rdb, prefix, "shop:abandoned:")
	r.fraud, r.entries[1] = readStream(t, rdb, prefix+"shop:fraud_review", func(v map[string]any) (string, fraud) {
		return v["user"].(string), fraud{user: v["user"].(string), id: num[int64](t, v["event_id"]), firstID: num[int64](t, v["first_failure_id"]),
			amount: num[float64](t, v["amount"]), failedAmount: num[float64](t, v["failed_amount"]),
			first: rfc(t, v["first_failure"]), third: rfc(t, v["last_failure"]), at: ms(t, v["at"])}
	})
	users, err := rdb.SMembers(context.Background(), prefix+"shop:fraud:users").Result()
	require.NoError(t, err)
	slices.Sort(users)
	r.fraudUsers = users
	r.newDevice, r.entries[2] = readStream(t, rdb, prefix+"shop:new_device", func(v map[string]any) (string, newDevice) {
		return v["user"].(string), newDevice{user: v["user"].(string), device: v["device"].(string), id: num[int64](t, v["event_id"]), at: ms(t, v["at"])}
	})
	r.devices = readZSets(t, rdb, prefix, "shop:devices:")
	r.spree, r.entries[3] = readStream(t, rdb, prefix+"shop:browsing", func(v map[string]any) (string, spree) {
		return v["user"].(string), spree{user: v["user"].(string), item: v["item"].(string), id: num[int64](t, v["event_id"]),
			distinct: num[int](t, v["distinct"]), first: rfc(t, v["first_view"]), at: ms(t, v["at"])}
	})
	return r
}

// checkResults checks every pattern's targets against compute's answer.
func checkResults(t *testing.T, exp expected, got results) {
	t.Helper()
	require.Equal(t, exp.abandoned, got.abandoned, "shop:abandoned, per user in order")
	require.Equal(t, count(exp.abandoned), got.entries[0], "shop:abandoned")
	require.Equal(t, exp.abandonedSet, got.abandonedSet, "shop:abandoned:<user>")
	require.Equal(t, exp.fraud, got.fraud, "shop:fraud_review, per user in order")
	require.Equal(t, count(exp.fraud), got.entries[1], "shop:fraud_review")
	var users []string
	for u := range exp.fraud {
		users = append(users, u)
	}
	slices.Sort(users)
	require.Equal(t, users, got.fraudUsers, "shop:fraud:users")
	require.Equal(t, exp.newDevice, got.newDevice, "shop:new_device, per user in order")
	require.Equal(t, count(exp.newDevice), got.entries[2], "shop:new_device")
	require.Equal(t, exp.devices, got.devices, "shop:devices:<user>")
	require.Equal(t, exp.spree, got.spree, "shop:browsing, per user in order")
	require.Equal(t, count(exp.spree), got.entries[3], "shop:browsing")
}

// The web-shop job, run by cmd/rulestream on its JSON lines (plus malformed
// lines), writes what compute says to every target, finds every planted
// pattern and no near miss; a second run writes nothing more, and a run on
// the same events in event-time order on one lane writes the same.
func TestWebshopJob(t *testing.T) {
	rdb, prefix := testredis.Client(t, 12)
	ctx := context.Background()
	raw, err := os.ReadFile("data/events.jsonl")
	require.NoError(t, err)

	// The input: the sample, with malformed lines inserted, each expected
	// in the deadletter stream at its line.
	path := filepath.Join(t.TempDir(), "events.jsonl")
	bad := []string{
		`{"event_id": 900001, "user": "u001", "kind": "view"`,                                                     // truncated
		`{"event_id": "x", "user": "u001", "kind": "view", "time": "2026-11-02T01:00:00Z"}`,                       // id of the wrong type
		`{"event_id": 900002, "user": "u001", "kind": "view", "time": "yesterday"}`,                               // bad time
		`{"event_id": 900003, "kind": "cart", "item": "sku-001", "time": "2026-11-05T01:00:00Z"}`,                 // no key
		`{"event_id": 900004, "user": "u002", "kind": "cart", "amount": "cheap", "time": "2026-11-06T01:00:00Z"}`, // amount not a number
		`{"event_id": 900005, "user": "u003", "kind": "purchase"}`,                                                // no time
		`not json at all`,
	}
	every := bytes.Count(raw, []byte("\n")) / (len(bad) + 1)
	var evs []event
	var lines [][]byte
	var in bytes.Buffer
	dead := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	n := 0
	for sc.Scan() {
		var e event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e))
		evs = append(evs, e)
		lines = append(lines, slices.Clone(sc.Bytes()))
		in.Write(sc.Bytes())
		in.WriteByte('\n')
		n++
		if n%every == 0 && len(bad) > 0 {
			in.WriteString(bad[0] + "\n")
			n++
			dead[fmt.Sprintf("%s:%d", path, n)] = true
			bad = bad[1:]
		}
	}
	require.NoError(t, sc.Err())
	require.Empty(t, bad)
	require.NoError(t, os.WriteFile(path, in.Bytes(), 0o644))

	exp := compute(evs)
	require.NotEmpty(t, exp.abandoned)
	require.NotEmpty(t, exp.fraud)
	require.NotEmpty(t, exp.newDevice)
	require.NotEmpty(t, exp.spree)

	bin := buildRunner(t)
	url := fmt.Sprintf("redis://%s/12", rdb.Options().Addr)
	run := func(input, prefix string, args ...string) string {
		cmd := exec.Command(bin, append([]string{"-job", "job.yaml", "-input", input, "-once", "-redis", url, "-prefix", prefix,
			"-progress", "off", "-quiet"}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "%s\n%s", stdout.String(), stderr.String())
		return stdout.String()
	}
	t.Log(run(path, prefix))
	got := readResults(t, rdb, prefix)
	checkResults(t, exp, got)

	// The planted truth is found, and no near miss.
	truth := shopgen.Generate(shopgen.Sample).Truth
	abIDs, ndIDs, spIDs := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
	frByID := map[int64]fraud{}
	for _, rs := range got.abandoned {
		for _, r := range rs {
			abIDs[r.id] = true
		}
	}
	for _, rs := range got.fraud {
		for _, r := range rs {
			frByID[r.id] = r
		}
	}
	for _, rs := range got.newDevice {
		for _, r := range rs {
			ndIDs[r.id] = true
		}
	}
	for _, rs := range got.spree {
		for _, r := range rs {
			spIDs[r.id] = true
		}
	}
	for _, id := range truth.Abandoned {
		require.True(t, abIDs[id], "planted abandoned cart %d not reported", id)
	}
	for _, id := range truth.Completed {
		require.False(t, abIDs[id], "completed cart %d reported as abandoned", id)
	}
	for _, f := range truth.Fraud {
		r, ok := frByID[f.Purchase]
		require.True(t, ok, "planted fraud shape completed by %d not reported", f.Purchase)
		require.Equal(t, f.FirstFailure, r.firstID, "fraud shape completed by %d", f.Purchase)
		require.Equal(t, f.First, r.first, "fraud shape completed by %d", f.Purchase)
	}
	for _, id := range truth.NearMisses {
		_, ok := frByID[id]
		require.False(t, ok, "near miss %d reported as fraud", id)
	}
	for _, id := range truth.NewDevices {
		require.True(t, ndIDs[id], "planted new device login %d not reported", id)
	}
	for _, id := range truth.Known {
		require.False(t, ndIDs[id], "login %d from a device used exactly 7 days before reported as new", id)
	}
	for _, id := range truth.Sprees {
		require.True(t, spIDs[id], "planted spree completed by %d not reported", id)
	}
	for _, id := range truth.SpreeMiss {
		require.False(t, spIDs[id], "spree near miss %d reported", id)
	}

	// shop:deadletter: every malformed line, at its position.
	dl, err := rdb.XRange(ctx, prefix+"shop:deadletter", "-", "+").Result()
	require.NoError(t, err)
	gotDead := map[string]bool{}
	for _, m := range dl {
		gotDead[m.Values["position"].(string)] = true
		require.NotEmpty(t, m.Values["raw"])
		require.NotEmpty(t, m.Values["reason"])
		require.Equal(t, path, m.Values["source"])
	}
	require.Equal(t, dead, gotDead, "shop:deadletter")

	// shop:late: the arrival is shuffled within less than the lateness.
	late, err := rdb.XLen(ctx, prefix+"shop:late").Result()
	require.NoError(t, err)
	require.Zero(t, late, "nothing arrives later than the lateness")

	// A second run of the same input writes nothing more.
	lens := func() []int64 {
		var l []int64
		for _, k := range []string{"shop:abandoned", "shop:fraud_review", "shop:new_device", "shop:browsing", "shop:deadletter", "shop:late"} {
			n, err := rdb.XLen(ctx, prefix+k).Result()
			require.NoError(t, err)
			l = append(l, n)
		}
		return l
	}
	before := lens()
	run(path, prefix)
	require.Equal(t, before, lens(), "a replay adds nothing")

	// The same events in event-time order (duplicates next to their
	// original), on one lane: the same results.
	order := make([]int, len(evs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		return cmp.Or(evs[i].Time.Compare(evs[j].Time), cmp.Compare(evs[i].ID, evs[j].ID))
	})
	in.Reset()
	for _, i := range order {
		in.Write(lines[i])
		in.WriteByte('\n')
	}
	sorted := filepath.Join(t.TempDir(), "sorted.jsonl")
	require.NoError(t, os.WriteFile(sorted, in.Bytes(), 0o644))
	_, prefix2 := testredis.Client(t, 12)
	run(sorted, prefix2, "-parallelism", "1")
	require.Equal(t, got, readResults(t, rdb, prefix2), "the results in event-time order")
}
