package main

import (
	"context"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// redisCPU returns the CPU seconds (user+sys) the Redis server has used, from
// INFO CPU, or -1 if unknown. The difference over a run is the server's cost
// of that run, when nothing else uses the server.
func redisCPU(ctx context.Context, rdb *redis.Client) float64 {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return -1
	}
	total := 0.0
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return -1
			}
			total += f
		}
	}
	return total
}

// cpuMeter measures the Redis server's CPU over a run.
type cpuMeter struct {
	rdb   *redis.Client
	start float64
}

func startCPU(ctx context.Context, rdb *redis.Client) cpuMeter {
	return cpuMeter{rdb: rdb, start: redisCPU(ctx, rdb)}
}

// seconds is the server CPU used since start (-1: unknown).
func (m cpuMeter) seconds(ctx context.Context) float64 {
	end := redisCPU(ctx, m.rdb)
	if end < 0 || m.start < 0 {
		return -1
	}
	return end - m.start
}
