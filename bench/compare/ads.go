package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// expectedAds computes the ad job's result from the generated data: the event
// ids of the plays (each once) of active customers below Gold, sorted.
func expectedAds(in *input) []string {
	eligible := map[int64]bool{}
	for _, c := range in.data.Customers {
		eligible[c.ID] = c.Status == 1 && c.Level < 2
	}
	seen := map[int64]bool{}
	var ids []string
	for _, p := range in.data.Plays {
		if seen[p.EventID] || !eligible[p.CustomerID] {
			continue
		}
		seen[p.EventID] = true
		ids = append(ids, strconv.FormatInt(p.EventID, 10))
	}
	slices.Sort(ids)
	return ids
}

// checkAds compares the event ids in <prefix>queue:ads with want, and
// reports duplicates, missing and extra ids.
func checkAds(ctx context.Context, rdb *redis.Client, prefix, name string, want []string, out io.Writer) bool {
	xs, err := rdb.XRange(ctx, prefix+"queue:ads", "-", "+").Result()
	if err != nil {
		fmt.Fprintf(out, "%s: read queue:ads: %v\n", name, err)
		return false
	}
	ids := make([]string, 0, len(xs))
	for _, x := range xs {
		id, _ := x.Values["event_id"].(string)
		ids = append(ids, id)
	}
	slices.Sort(ids)
	dups := len(ids) - len(slices.Compact(slices.Clone(ids)))
	ids = slices.Compact(ids)
	if dups == 0 && slices.Equal(ids, want) {
		return true
	}
	has := map[string]bool{}
	for _, id := range ids {
		has[id] = true
	}
	missing := 0
	for _, id := range want {
		if !has[id] {
			missing++
		}
	}
	fmt.Fprintf(out, "%s: queue:ads DIFFERS: %d entries, %d duplicate ids, %d ids missing, %d unexpected (want %d)\n",
		name, len(xs), dups, missing, len(ids)+missing-len(want), len(want))
	return false
}
