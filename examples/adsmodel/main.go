// Command adsmodel trains the ad-response model of the music-streaming demo
// and publishes it to Redis when its held-out error is under a threshold:
// per customer, the shares of plays by time of day, on mobile and of unique
// tracks predict a click on ADV_REDUCED_1DAY. With -every it keeps running
// and retrains on that schedule; every attempt, published or not, is
// appended to the Redis stream model:ads:history.
//
//	go run ./examples/adsmodel
//	go run ./examples/adsmodel -tracks tracks.csv -clicks clicks.csv -redis localhost:6379
//	go run ./examples/adsmodel -features ../shared/data/features.txt
//	go run ./examples/adsmodel -every 1h -redis localhost:6379   # retrain hourly, keep running
//
// See README.md beside it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rulestream/rulestream/examples/adsmodel/model"
	"github.com/rulestream/rulestream/stream"
)

type options struct {
	tracks, clicks, features string
	writeClicks              string
	redis, prefix            string
	threshold                float64
	seed                     uint64
	customers                int
	every                    time.Duration

	// clock, when set (tests only; no flag sets it), times the attempts
	// and stamps them. Default: the system clock.
	clock stream.Clock
	// onAttempt, when set (tests only), is called after each attempt was
	// recorded (or failed to be), with the attempt.
	onAttempt func(model.Attempt)
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("adsmodel", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.tracks, "tracks", "", "plays CSV in the demo's positional schema (no header). Default: a generated data set")
	fs.StringVar(&o.clicks, "clicks", "", "clicks.csv (EventID,CustID,AdClicked,Localtime). Default: clicks generated consistent with the plays")
	fs.StringVar(&o.writeClicks, "write-clicks", "", "also write the generated clicks to this file (clicks.csv format)")
	fs.StringVar(&o.features, "features", "", "libSVM features file (label 1:morning ... 6:unique), instead of -tracks and -clicks")
	fs.StringVar(&o.redis, "redis", "", "Redis address (host:port or redis:// URL; several, comma-separated, for a Redis Cluster: host:port,host:port,...). Default: an embedded Redis-protocol server")
	fs.StringVar(&o.prefix, "prefix", "", "prefix of every Redis key written")
	fs.Float64Var(&o.threshold, "threshold", 0.10, "publish only when the held-out error is under this")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated data and of the 70/30 split")
	fs.IntVar(&o.customers, "customers", 5000, "customers of the generated data set (40 plays each)")
	fs.DurationVar(&o.every, "every", 0, "retrain every DURATION (e.g. 1h) and keep running until SIGINT or SIGTERM, re-reading -tracks, -clicks or -features each time (generated data: seed, seed+1, ...); every attempt is appended to the Redis stream model:ads:history. 0: train once and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	case o.features != "" && (o.tracks != "" || o.clicks != ""):
		return nil, errors.New("-features replaces -tracks and -clicks: give one or the other")
	case o.writeClicks != "" && (o.clicks != "" || o.features != ""):
		return nil, errors.New("-write-clicks writes generated clicks: it cannot go with -clicks or -features")
	case !(o.threshold > 0 && o.threshold <= 1):
		return nil, fmt.Errorf("-threshold %v is not in (0, 1]", o.threshold)
	case o.customers < 2:
		return nil, fmt.Errorf("-customers %d: want at least 2", o.customers)
	case o.every < 0:
		return nil, fmt.Errorf("-every %s is negative", o.every)
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "adsmodel:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "adsmodel:", err)
		os.Exit(1)
	}
}
