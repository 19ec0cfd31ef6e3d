package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rulestream/rulestream/examples/musicstream/gen"
)

// feed makes the plays: every 10th by a fresh active non-Gold customer
// (upgrade_ad fires: an ad sample), every 200th starting a triple of plays
// of one (customer, track) pair by a Gold customer, 5 plays apart (its
// third makes interest fire: an interest sample), the others by Gold
// customers on random tracks (no rule fires).
type feed struct {
	eligible, filler, triple []int64
	tracks                   int
	r                        *rand.Rand
	n, nextAd, nextTriple    int
	pending                  map[int][2]int64 // play index -> (customer, track) of a triple's play
	completes                map[int]bool     // play index completes a triple
	mu                       sync.Mutex
	sent                     map[int64]time.Time // sample event id -> append time
	ads, interest            int
}

func newFeed(d *gen.Data) *feed {
	f := &feed{tracks: len(d.Tracks), r: rand.New(rand.NewPCG(1, 2)), pending: map[int][2]int64{},
		completes: map[int]bool{}, sent: map[int64]time.Time{}}
	var gold []int64
	for _, c := range d.Customers {
		switch {
		case c.Status == 1 && c.Level < 2:
			f.eligible = append(f.eligible, c.ID)
		case c.Level == 2:
			gold = append(gold, c.ID)
		}
	}
	f.filler, f.triple = gold[:len(gold)/2], gold[len(gold)/2:]
	return f
}

// next returns the next play's CSV line at time now, and whether it is a
// sample (its event id is then recorded as appended at now).
func (f *feed) next(now time.Time, b *bytes.Buffer) (sample bool) {
	i := f.n
	f.n++
	eid := int64(i + 1)
	var cust, track int64
	kind := 0 // 1: ad sample, 2: completes a triple
	switch p, ok := f.pending[i]; {
	case ok:
		cust, track = p[0], p[1]
		delete(f.pending, i)
		if f.completes[i] {
			delete(f.completes, i)
			kind = 2
		}
	case i%10 == 0 && f.nextAd < len(f.eligible):
		cust, track, kind = f.eligible[f.nextAd], 1+f.r.Int64N(int64(f.tracks)), 1
		f.nextAd++
	case i%200 == 1 && f.nextTriple < len(f.triple):
		cust, track = f.triple[f.nextTriple], 1+f.r.Int64N(int64(f.tracks))
		f.nextTriple++
		for k := 1; k <= 2; k++ {
			j := i + 5*k
			for j%10 == 0 || f.pending[j] != [2]int64{} {
				j++
			}
			f.pending[j] = [2]int64{cust, track}
			f.completes[j] = k == 2
		}
	default:
		cust, track = f.filler[f.r.IntN(len(f.filler))], 1+f.r.Int64N(int64(f.tracks))
	}
	fmt.Fprintf(b, "%d,%d,%d,\"%s\",0,\"10001\"\n", eid, cust, track, now.UTC().Format("2006-01-02 15:04:05"))
	if kind == 0 {
		return false
	}
	f.mu.Lock()
	f.sent[eid] = now
	if kind == 1 {
		f.ads++
	} else {
		f.interest++
	}
	f.mu.Unlock()
	return true
}

func (f *feed) appendedAt(eid int64) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.sent[eid]
	return t, ok
}

// writer delivers plays: to a followed file, or to Kafka.
type writer interface {
	write(ctx context.Context, lines []byte) error
	close() error
}

type fileWriter struct{ f *os.File }

func (w fileWriter) write(_ context.Context, lines []byte) error {
	_, err := w.f.Write(lines)
	return err
}
func (w fileWriter) close() error { return w.f.Close() }

// runPlays feeds rate plays/s for the duration to a musicstream run and
// reports the latency of upgrade_ad and interest.
func runPlays(ctx context.Context, o *options, rdb *redis.Client, bin, dir string, rate int, out io.Writer) error {
	customers := max(20000, rate*int(o.duration.Seconds())/10*2)
	d := gen.Generate(gen.Config{Seed: 7, Customers: customers, Tracks: 1000, Plays: 1})
	cust := filepath.Join(dir, "cust.csv")
	music := filepath.Join(dir, "music.csv")
	if err := writeWith(cust, func(w io.Writer) error { return gen.WriteCustomers(w, d.Customers) }); err != nil {
		return err
	}
	if err := writeWith(music, func(w io.Writer) error { return gen.WriteMusic(w, d.Tracks) }); err != nil {
		return err
	}
	p := prefix(fmt.Sprintf("%s:%d", o.source, rate))
	defer cleanup(context.WithoutCancel(ctx), o, rdb, p)
	args := []string{"-customers", cust, "-music", music, "-redis", o.redis, "-prefix", p, "-progress", "off", "-silence", "0"}
	var w writer
	switch o.source {
	case "file":
		plays := filepath.Join(dir, fmt.Sprintf("plays-%d.csv", rate))
		fh, err := os.OpenFile(plays, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		w, args = fileWriter{fh}, append(args, "-tracks", plays)
	case "kafka":
		kw, brokers, err := newKafkaWriter()
		if err != nil {
			return err
		}
		w, args = kw, append(args, "-kafka", brokers, "-topic", "plays", "-group", "latency")
	}
	defer w.close()
	stop, err := startBinary(ctx, dir, filepath.Join(bin, "musicstream"), append(args, o.extra...)...)
	if err != nil {
		return err
	}
	f := newFeed(d)
	ads, interest := &samples{}, &samples{}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	consumed := make(chan error, 1)
	go func() {
		consumed <- consume(cctx, rdb, map[string]*samples{p + "queue:ads": ads, p + "queue:interest": interest}, f.appendedAt)
	}()
	// Warm up: the first ad sample, once written, says the run is ready.
	var b bytes.Buffer
	f.next(time.Now(), &b)
	if err := w.write(ctx, b.Bytes()); err != nil {
		return err
	}
	if err := waitFor(ctx, func() bool { return ads.len() > 0 }, 2*time.Minute); err != nil {
		return fmt.Errorf("musicstream wrote no ad within 2 minutes of the warm-up play (%v): %v", err, stop())
	}
	ads.reset()
	feedAt(ctx, f, w, rate, o.duration)
	// Drain: every sample written, or 10 seconds.
	_ = waitFor(ctx, func() bool { return ads.len() >= f.ads-1 && interest.len() >= f.interest }, 10*time.Second)
	cancel()
	<-consumed
	if err := stop(); err != nil {
		return err
	}
	label := fmt.Sprintf("%s %d/s", o.source, rate)
	ads.report(out, label+" upgrade_ad")
	interest.report(out, label+" interest")
	if n := ads.len(); n < f.ads-1 {
		fmt.Fprintf(out, "%s: %d of %d ad samples written\n", label, n, f.ads-1)
	}
	if n := interest.len(); n < f.interest {
		fmt.Fprintf(out, "%s: %d of %d interest samples written\n", label, n, f.interest)
	}
	return nil
}

// feedAt writes rate plays/s for d, in a write per millisecond.
func feedAt(ctx context.Context, f *feed, w writer, rate int, d time.Duration) {
	start := time.Now()
	total := int(float64(rate) * d.Seconds())
	var b bytes.Buffer
	for sent := 0; sent < total && ctx.Err() == nil; {
		now := time.Now()
		due := min(total, int(float64(rate)*now.Sub(start).Seconds())+1)
		b.Reset()
		for ; sent < due; sent++ {
			f.next(now, &b)
		}
		if b.Len() > 0 {
			if err := w.write(ctx, b.Bytes()); err != nil {
				fmt.Fprintln(os.Stderr, "latency: write:", err)
				return
			}
		}
		time.Sleep(time.Millisecond) // pacing the feed, not waiting for a condition
	}
}

func writeWith(path string, fn func(io.Writer) error) error {
	var b bytes.Buffer
	if err := fn(&b); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// consume reads the streams from their start until ctx ends, and adds the
// latency of each entry whose event_id at knows: the entry id's time
// (Redis's clock) minus the time at gives.
func consume(ctx context.Context, rdb *redis.Client, streams map[string]*samples, at func(int64) (time.Time, bool)) error {
	keys := make([]string, 0, 2*len(streams))
	for k := range streams {
		keys = append(keys, k)
	}
	ids := make([]string, len(keys))
	for i := range ids {
		ids[i] = "0"
	}
	for ctx.Err() == nil {
		res, err := rdb.XRead(ctx, &redis.XReadArgs{Streams: append(append([]string{}, keys...), ids...), Count: 1000, Block: 100 * time.Millisecond}).Result()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, st := range res {
			i := indexOf(keys, st.Stream)
			for _, m := range st.Messages {
				ids[i] = m.ID
				eid, _ := strconv.ParseInt(fmt.Sprint(m.Values["event_id"]), 10, 64)
				t, ok := at(eid)
				if !ok {
					continue
				}
				ms, _ := strconv.ParseInt(strings.SplitN(m.ID, "-", 2)[0], 10, 64)
				streams[st.Stream].add(time.UnixMilli(ms).Sub(t))
			}
		}
	}
	return nil
}

func indexOf(keys []string, k string) int {
	for i, x := range keys {
		if x == k {
			return i
		}
	}
	return 0
}

// waitFor polls cond (the binaries are other processes) until it holds or
// limit passes.
func waitFor(ctx context.Context, cond func() bool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
