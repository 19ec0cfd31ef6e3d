package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// runAbsence runs the web shop's job (its abandoned-cart window's within
// set to -within) on a followed file: -carts cart events are appended at
// once, then nothing. Each abandoned cart's latency is the time its entry
// reached Redis minus its deadline (the cart's time plus within).
func runAbsence(ctx context.Context, o *options, rdb *redis.Client, bin, dir string, out io.Writer) error {
	src, err := os.ReadFile(filepath.Join("examples", "webshop", "job.yaml"))
	if err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	job := string(src)
	for _, e := range [][2]string{{"    within: 30m\n", "    within: " + o.within.String() + "\n"}, {"  path: data/events.jsonl\n", "  path: events.jsonl\n"}} {
		if strings.Count(job, e[0]) != 1 {
			return fmt.Errorf("examples/webshop/job.yaml no longer holds %q once", e[0])
		}
		job = strings.Replace(job, e[0], e[1], 1)
	}
	jobPath := filepath.Join(dir, "job.yaml")
	events := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(jobPath, []byte(job), 0o644); err != nil {
		return err
	}
	fh, err := os.Create(events)
	if err != nil {
		return err
	}
	defer fh.Close()
	p := prefix("absence")
	defer cleanup(context.WithoutCancel(ctx), o, rdb, p)
	stop, err := startBinary(ctx, dir, filepath.Join(bin, "rulestream"), "-job", jobPath, "-redis", o.redis, "-prefix", p,
		"-progress", "off", "-silence", "0")
	if err != nil {
		return err
	}
	// The carts, by distinct users, a millisecond apart up to the current
	// time (none in the future of its arrival).
	sent := map[int64]time.Time{}
	var b bytes.Buffer
	now := time.Now()
	for i := range o.carts {
		t := now.Add(time.Duration(i-o.carts+1) * time.Millisecond)
		fmt.Fprintf(&b, `{"event_id":%d,"user":"u%d","kind":"cart","item":"i1","amount":9.5,"device":"d","time":%q}`+"\n",
			i+1, i, t.UTC().Format(time.RFC3339Nano))
		sent[int64(i+1)] = t.Add(o.within)
	}
	if _, err := fh.Write(b.Bytes()); err != nil {
		return err
	}
	lat := &samples{}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- consume(cctx, rdb, map[string]*samples{p + "shop:abandoned": lat}, func(eid int64) (time.Time, bool) {
			t, ok := sent[eid]
			return t, ok
		})
	}()
	werr := waitFor(ctx, func() bool { return lat.len() >= o.carts }, o.within+2*time.Minute)
	cancel()
	<-done
	if err := stop(); err != nil {
		return err
	}
	lat.report(out, fmt.Sprintf("file idle absence (within %s, after the deadline)", o.within))
	if werr != nil {
		fmt.Fprintf(out, "%d of %d abandoned carts written\n", lat.len(), o.carts)
	}
	return nil
}
