package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// results is the content of the target keys under a prefix, without the
// prefix: per key, its entries as sorted text lines (zset: "member score";
// stream: the entry's fields "k=v ..." sorted, stream ids left out). Reference
// hashes and idempotency markers are not results.
type results map[string][]string

func readResults(ctx context.Context, rdb *redis.Client, prefix string) (results, error) {
	res := results{}
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		k := strings.TrimPrefix(iter.Val(), prefix)
		if strings.HasPrefix(k, "customer:") || strings.HasPrefix(k, "track:") || strings.HasPrefix(k, "rulestream:") {
			continue
		}
		keys = append(keys, k)
	}
	if err := iter.Err(); err != nil {
		return nil, err
	}
	for _, k := range keys {
		typ, err := rdb.Type(ctx, prefix+k).Result()
		if err != nil {
			return nil, err
		}
		var lines []string
		switch typ {
		case "zset":
			zs, err := rdb.ZRangeWithScores(ctx, prefix+k, 0, -1).Result()
			if err != nil {
				return nil, err
			}
			for _, z := range zs {
				lines = append(lines, fmt.Sprint(z.Member)+" "+strconv.FormatFloat(z.Score, 'f', -1, 64))
			}
		case "stream":
			xs, err := rdb.XRange(ctx, prefix+k, "-", "+").Result()
			if err != nil {
				return nil, err
			}
			for _, x := range xs {
				f := make([]string, 0, len(x.Values))
				for name, v := range x.Values {
					f = append(f, name+"="+fmt.Sprint(v))
				}
				slices.Sort(f)
				lines = append(lines, strings.Join(f, " "))
			}
		default:
			return nil, fmt.Errorf("key %s%s: unexpected type %s", prefix, k, typ)
		}
		slices.Sort(lines)
		res[k] = lines
	}
	return res, nil
}

// digest hashes every key and its entries.
func (r results) digest() string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s\n", k)
		for _, l := range r[k] {
			fmt.Fprintf(h, "\t%s\n", l)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// summary counts the interest sets and the entries of each stream.
func (r results) summary() string {
	zsets, members := 0, 0
	var streams []string
	for k, lines := range r {
		if strings.HasPrefix(k, "interest:") {
			zsets++
			members += len(lines)
			continue
		}
		streams = append(streams, fmt.Sprintf("%s=%d", k, len(lines)))
	}
	slices.Sort(streams)
	return fmt.Sprintf("interest sets=%d members=%d %s", zsets, members, strings.Join(streams, " "))
}

// diff describes the first differences between a and b (at most max lines).
func diff(a, b results, nameA, nameB string, max int) []string {
	var out []string
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	for _, k := range sorted {
		la, lb := a[k], b[k]
		if slices.Equal(la, lb) {
			continue
		}
		count := map[string]int{}
		for _, l := range la {
			count[l]++
		}
		for _, l := range lb {
			count[l]--
		}
		for _, l := range append(slices.Clone(la), lb...) {
			switch c := count[l]; {
			case c > 0:
				out = append(out, fmt.Sprintf("%s: %d more in %s: %s", k, c, nameA, l))
			case c < 0:
				out = append(out, fmt.Sprintf("%s: %d more in %s: %s", k, -c, nameB, l))
			}
			count[l] = 0
		}
		if len(la) != len(lb) {
			out = append(out, fmt.Sprintf("%s: %d entries in %s, %d in %s", k, len(la), nameA, len(lb), nameB))
		}
		if len(out) >= max {
			return out[:max]
		}
	}
	return out
}
