package analytics

import "github.com/redis/go-redis/v9"

// KeyPrefix returns the start of every analytics key under prefix
// (Config.Prefix): prefix + "stats:" on a single Redis, prefix + "{stats}:"
// on a Redis Cluster, where the hash tag puts them all in one slot: the
// merge script reads every partition's partial and the partitions set in
// the call that writes their sum, and the writes of a flush are one
// transaction.
func KeyPrefix(rdb redis.UniversalClient, prefix string) string {
	if _, ok := rdb.(*redis.ClusterClient); ok {
		return prefix + "{stats}:"
	}
	return prefix + "stats:"
}
