// Command smsworker sends the SMS offers that rulestream's "sms" target
// writes to the Redis stream queue:sms. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/enrich"
	"github.com/rulestream/rulestream/examples/smsworker/worker"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "smsworker:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("redis", "127.0.0.1:6379", "Redis address: host:port, or a redis:// or rediss:// URL with an optional user, password and database (redis://:password@host:6379/0); several, comma-separated (host:port,host:port,...), for a Redis Cluster; the password is never printed")
	db := flag.Int("db", 0, "Redis database (overrides the URL's)")
	var cfg worker.Config
	flag.StringVar(&cfg.Stream, "stream", "queue:sms", "stream to read")
	flag.StringVar(&cfg.Group, "group", "smsworker", "consumer group")
	flag.StringVar(&cfg.Consumer, "consumer", "", "consumer name (default host-pid; reuse it to resume after a restart)")
	flag.IntVar(&cfg.MaxAttempts, "attempts", 5, "failed sends before an entry goes to <stream>:dead")
	flag.DurationVar(&cfg.ClaimMinIdle, "claim-idle", time.Minute, "claim entries pending this long with a dead worker")
	webhook := flag.String("webhook", "", "POST each SMS as JSON to this URL (default: log it)")
	timeout := flag.Duration("timeout", 5*time.Second, "webhook request timeout")
	flag.Parse()
	dbNum := -1 // the address's
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "db" {
			dbNum = *db
		}
	})
	rdb, err := enrich.Open(*addr, dbNum)
	if err != nil {
		return err
	}
	defer rdb.Close()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg.Logger = log
	var sender worker.Sender = worker.LogSender{Logger: log}
	if *webhook != "" {
		sender = &worker.WebhookSender{URL: *webhook, Timeout: *timeout}
	}
	w, err := worker.New(rdb, sender, cfg)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	where := []any{"redis", enrich.Redact(*addr)}
	if c, ok := rdb.(*redis.Client); ok {
		where = append(where, "db", c.Options().DB)
	}
	log.Info("smsworker started", append(where, "stream", cfg.Stream)...)
	err = w.Run(ctx)
	log.Info("smsworker stopped", "stats", fmt.Sprintf("%+v", w.Stats()))
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
