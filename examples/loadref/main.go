// Command loadref loads the demo's reference data (cust.csv, music.csv) into
// Redis hashes customer:<id> and track:<id> for the enrich lookups.
//
//	loadref -redis redis://localhost:6379/0 -customers cust.csv -music music.csv
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/examples/musicstream/music"
)

func main() {
	addr := flag.String("redis", "localhost:6379", "Redis host:port or redis:// / rediss:// URL (user:password@ for ACL); several, comma-separated, for a Redis Cluster")
	customers := flag.String("customers", "", "path of cust.csv (CustID,Name,Gender,Address,zip,SignDate,Status,Level,Campaign,LinkedWithApps)")
	tracks := flag.String("music", "", "path of music.csv (TrackId,Title,Artist,Length)")
	prefix := flag.String("prefix", "", "key prefix before customer:<id> and track:<id>")
	batch := flag.Int("batch", 1000, "rows per pipelined round trip")
	strict := flag.Bool("strict", false, "skip rows with an unbalanced quote instead of recovering them")
	quiet := flag.Bool("quiet", false, "no progress output")
	flag.Parse()
	if *customers == "" && *tracks == "" {
		fmt.Fprintln(os.Stderr, "loadref: nothing to load: give -customers and/or -music")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := enrich.LoadConfig{Prefix: *prefix, BatchSize: *batch, Strict: *strict, Logger: logger}
	if !*quiet {
		cfg.Progress = os.Stderr
	}
	if err := run(ctx, *addr, *customers, *tracks, cfg, logger); err != nil {
		fmt.Fprintln(os.Stderr, "loadref:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr, customers, tracks string, cfg enrich.LoadConfig, logger *slog.Logger) error {
	client, err := enrich.Connect(ctx, addr, logger)
	if err != nil {
		return err
	}
	defer client.Close()
	if customers != "" {
		if _, err := music.LoadCustomersFile(ctx, client, customers, cfg); err != nil {
			return err
		}
	}
	if tracks != "" {
		if _, err := music.LoadTracksFile(ctx, client, tracks, cfg); err != nil {
			return err
		}
	}
	return nil
}
