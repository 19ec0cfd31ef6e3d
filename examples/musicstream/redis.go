package main

import (
	"github.com/alicebob/miniredis/v2"
)

// startEmbeddedRedis starts an in-process Redis-protocol server (miniredis)
// on a free local port, for running the example without a Redis.
func startEmbeddedRedis() (*miniredis.Miniredis, error) {
	srv := miniredis.NewMiniRedis()
	if err := srv.StartAddr("127.0.0.1:0"); err != nil {
		return nil, err
	}
	return srv, nil
}
