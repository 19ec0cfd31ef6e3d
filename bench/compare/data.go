package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/examples/musicstream/music"
)

// input is one generated data set: the plays CSV (event-time order, with
// duplicate deliveries) and the reference data.
type input struct {
	data      *gen.Data
	plays     []byte // positional plays CSV, one play per line
	customers []byte // cust.csv
	music     []byte // music.csv
	predicted map[int64]bool
}

// generate builds the input of n plays. MaxDelay 0 keeps the plays in event
// time order (ties by event id); a duplicate delivery follows the plays of
// its second.
func generate(n int, seed uint64) (*input, error) { return generateShuffled(n, seed, 0) }

// generateShuffled is generate with arrival shuffled within disorder of
// event time.
func generateShuffled(n int, seed uint64, disorder time.Duration) (*input, error) {
	d := gen.Generate(gen.Config{Seed: seed, Plays: n, Repeats: max(1, n/200), NearMisses: max(1, n/1000),
		Duplicates: 0.01, MaxDelay: disorder})
	in := &input{data: d, predicted: map[int64]bool{}}
	var b bytes.Buffer
	if err := gen.WritePlays(&b, d.Plays); err != nil {
		return nil, err
	}
	in.plays = bytes.Clone(b.Bytes())
	b.Reset()
	if err := gen.WriteCustomers(&b, d.Customers); err != nil {
		return nil, err
	}
	in.customers = bytes.Clone(b.Bytes())
	b.Reset()
	if err := gen.WriteMusic(&b, d.Tracks); err != nil {
		return nil, err
	}
	in.music = bytes.Clone(b.Bytes())
	// The generator writes no pred_event (the ad-response model's output):
	// predict a response for a seeded quarter of the customers, so that
	// sms_offer fires.
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for _, c := range d.Customers {
		in.predicted[c.ID] = r.IntN(4) == 0
	}
	return in, nil
}

// load writes the reference data under prefix: customer:<id> (with
// pred_event) and track:<id>.
func (in *input) load(ctx context.Context, rdb *redis.Client, prefix string) error {
	cfg := enrich.LoadConfig{Prefix: prefix}
	if _, err := music.LoadCustomers(ctx, rdb, bytes.NewReader(in.customers), cfg); err != nil {
		return fmt.Errorf("load customers: %w", err)
	}
	if _, err := music.LoadTracks(ctx, rdb, bytes.NewReader(in.music), cfg); err != nil {
		return fmt.Errorf("load tracks: %w", err)
	}
	pipe := rdb.Pipeline()
	for _, c := range in.data.Customers {
		v := "0"
		if in.predicted[c.ID] {
			v = "1"
		}
		pipe.HSet(ctx, prefix+"customer:"+strconv.FormatInt(c.ID, 10), "pred_event", v)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("set pred_event: %w", err)
	}
	return nil
}

// lines counts the plays delivered (duplicates included).
func (in *input) lines() int { return bytes.Count(in.plays, []byte{'\n'}) }

// clean deletes every key under prefix.
func clean(ctx context.Context, rdb *redis.Client, prefix string) error {
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	flush := func() error {
		if len(keys) == 0 {
			return nil
		}
		err := rdb.Unlink(ctx, keys...).Err()
		keys = keys[:0]
		return err
	}
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
		if len(keys) >= 1000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	return flush()
}

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
