package main

import (
	"context"
	"errors"
	"io"

	"github.com/redis/go-redis/v9"
)

func runPeerComparison(ctx context.Context, o *options, rdb *redis.Client, in *input, out io.Writer) error {
	return errors.New("not yet")
}
