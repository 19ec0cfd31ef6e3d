package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/examples/adsmodel/model"
	"github.com/rulestream/rulestream/examples/musicstream/gen"
	"github.com/rulestream/rulestream/stream"
)

func run(ctx context.Context, o *options, out io.Writer) error {
	rdb, closeRedis, err := openRedis(ctx, o.redis, out)
	if err != nil {
		return err
	}
	defer closeRedis()
	tr := &trainer{o: o, rdb: rdb, out: out, clock: o.clock}
	if tr.clock == nil {
		tr.clock = stream.SystemClock{}
	}
	if o.every > 0 {
		return tr.schedule(ctx, o.every)
	}
	_, err = tr.attempt(ctx)
	return err // a *model.RefusedError names the error and the threshold
}

// loadRows reads -features, or joins the plays with the clicks; either may
// be generated (from seed).
func loadRows(o *options, seed uint64, out io.Writer) ([]model.Row, error) {
	if o.features != "" {
		f, err := os.Open(o.features)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rows, err := model.ReadLibSVM(f, o.features)
		fmt.Fprintf(out, "read %d customers from %s\n", len(rows), o.features)
		return rows, err
	}
	d := &gen.Data{Config: gen.Config{Seed: seed}}
	if o.tracks == "" {
		n := o.customers
		d = gen.Generate(gen.Config{Seed: seed, Customers: n, Tracks: 60, Plays: 40 * n, MeanGap: 2 * time.Minute, Duplicates: 0.01})
		fmt.Fprintf(out, "generated %d plays of %d customers (seed %d)\n", len(d.Plays), n, seed)
	} else {
		f, err := os.Open(o.tracks)
		if err != nil {
			return nil, err
		}
		_, err = model.ReadPlays(f, o.tracks, func(p gen.Play) { d.Plays = append(d.Plays, p) })
		f.Close()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "read %d plays from %s\n", len(d.Plays), o.tracks)
	}
	b := model.NewBuilder()
	for _, p := range d.Plays {
		b.AddPlay(p)
	}
	clicked := map[int64]bool{}
	if o.clicks != "" {
		f, err := os.Open(o.clicks)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if clicked, err = model.ReadClicks(f, o.clicks); err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "read clicks from %s: %d customers clicked %s\n", o.clicks, len(clicked), gen.Ads[0])
	} else {
		clicks, truth := gen.Clicks(d, gen.ClickConfig{})
		for _, c := range clicks {
			clicked[c.CustID] = clicked[c.CustID] || c.AdClicked == gen.Ads[0]
		}
		if o.writeClicks != "" {
			if err := writeFile(o.writeClicks, func(w io.Writer) error { return gen.WriteClicks(w, clicks) }); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(out, "generated %d clicks consistent with the plays: true intercept %.4g, weights %v, Bayes error %.2f%%\n",
			len(clicks), truth.Intercept, truth.Weights, truth.BayesError*100)
	}
	return b.Rows(clicked), nil
}

func openRedis(ctx context.Context, addr string, out io.Writer) (redis.UniversalClient, func(), error) {
	if addr != "" {
		rdb, err := enrich.Connect(ctx, addr, nil)
		if err != nil {
			return nil, nil, err
		}
		return rdb, func() { rdb.Close() }, nil
	}
	srv := miniredis.NewMiniRedis()
	if err := srv.StartAddr("127.0.0.1:0"); err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(out, "embedded Redis on %s\n", srv.Addr())
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	return rdb, func() { rdb.Close(); srv.Close() }, nil
}

func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
