// Command handwritten is the ad job written by hand with go-redis alone, as a
// competent Go engineer would: a reader goroutine parses the plays CSV into
// batches of about 1000, the main goroutine drops re-delivered event ids (a
// map), looks up the customers missing from a local cache (one pipeline of
// HMGET per batch), keeps the plays of active non-Gold customers and writes
// them with one pipeline of XADDs to queue:ads per batch.
//
//	handwritten -input plays.csv -redis 127.0.0.1:6379 -prefix bench:peer:
//
// It prints one JSON line: {"events":N,"written":W,"seconds":S}.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

type play struct {
	eventID          int64
	event, cust, trk string
}

type customer struct{ eligible bool }

func main() {
	input := flag.String("input", "", "plays CSV (positional demo schema, no header)")
	addr := flag.String("redis", "127.0.0.1:6379", "Redis address")
	prefix := flag.String("prefix", "", "key prefix: reads <prefix>customer:<id>, writes <prefix>queue:ads")
	batchSize := flag.Int("batch", 1000, "plays per batch")
	flag.Parse()
	if err := run(*input, *addr, *prefix, *batchSize); err != nil {
		fmt.Fprintln(os.Stderr, "handwritten:", err)
		os.Exit(1)
	}
}

func run(input, addr, prefix string, batchSize int) error {
	ctx := context.Background()
	f, err := os.Open(input)
	if err != nil {
		return err
	}
	defer f.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	start := time.Now()

	batches := make(chan []play, 4)
	readErr := make(chan error, 1)
	go func() { readErr <- read(f, batchSize, batches) }()

	seen := make(map[int64]struct{}, 1<<20)
	cache := make(map[string]customer)
	events, written := 0, 0
	var keep []play
	var missing []string
	for batch := range batches {
		events += len(batch)
		keep, missing = keep[:0], missing[:0]
		for _, p := range batch {
			if _, dup := seen[p.eventID]; dup {
				continue
			}
			seen[p.eventID] = struct{}{}
			keep = append(keep, p)
			if _, ok := cache[p.cust]; !ok {
				cache[p.cust] = customer{} // placeholder: fetched below once
				missing = append(missing, p.cust)
			}
		}
		if err := fetch(ctx, rdb, prefix, missing, cache); err != nil {
			return err
		}
		pipe := rdb.Pipeline()
		n := 0
		for _, p := range keep {
			if !cache[p.cust].eligible {
				continue
			}
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: prefix + "queue:ads",
				Values: []string{"customer_id", p.cust, "track_id", p.trk, "event_id", p.event}})
			n++
		}
		if n > 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				return fmt.Errorf("xadd: %w", err)
			}
		}
		written += n
	}
	if err := <-readErr; err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"events": events, "written": written, "seconds": time.Since(start).Seconds()})
}

// fetch looks up the status and level of the missing customers in one
// pipeline and caches whether each is active and below Gold.
func fetch(ctx context.Context, rdb *redis.Client, prefix string, ids []string, cache map[string]customer) error {
	if len(ids) == 0 {
		return nil
	}
	pipe := rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, prefix+"customer:"+id, "status", "level")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("hmget: %w", err)
	}
	for i, id := range ids {
		v := cmds[i].Val()
		status, _ := v[0].(string)
		level, _ := v[1].(string)
		lv, err := strconv.Atoi(level)
		cache[id] = customer{eligible: status == "1" && err == nil && lv < 2}
	}
	return nil
}

// read parses the CSV into batches; the first three columns are integers.
func read(f *os.File, size int, out chan<- []play) error {
	defer close(out)
	sc := bufio.NewScanner(bufio.NewReaderSize(f, 1<<20))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	batch := make([]play, 0, size)
	line := 0
	for sc.Scan() {
		line++
		cols := strings.SplitN(sc.Text(), ",", 4)
		if len(cols) < 4 {
			return fmt.Errorf("line %d: want 6 columns", line)
		}
		id, err := strconv.ParseInt(cols[0], 10, 64)
		if err != nil {
			return fmt.Errorf("line %d: event_id: %w", line, err)
		}
		batch = append(batch, play{eventID: id, event: cols[0], cust: cols[1], trk: cols[2]})
		if len(batch) == size {
			out <- batch
			batch = make([]play, 0, size)
		}
	}
	if len(batch) > 0 {
		out <- batch
	}
	return sc.Err()
}
