// Package analytics computes the music-stream scenario's stage-1 analytics
// ("what are customers doing?") in event time and keeps them in Redis for the
// dashboard and for anyone with redis-cli.
//
// New (or Factory.New) returns a stream.Operator meant to be one branch of
// stream.Parallel beside the rules' inputs: it consumes enriched plays (the "customer" join
// is read for level, gender and age band), emits nothing downstream, and
// writes the results of its windows to Redis itself, in one pipelined
// transaction per Process or Advance call that fired windows.
//
// Two tumbling windows (window.NewTumbling), of an hour and of a day, hold
// the plays of each period: built-in aggregates count mobile plays (Sum) and
// listeners (DistinctCount), and a custom aggregate (window.Custom) counts the
// plays per zip code, track, level, gender and age band, so that a period is
// one window whatever the number of zip codes or tracks. Late and
// out-of-range events are left to the other branches, which already send
// them to the pipeline's late and dead-letter outputs.
//
// # Keys
//
// With H = the hour's start as YYYYMMDDHH and D = the day as YYYYMMDD (UTC,
// event time), under Config.Prefix (on a Redis Cluster "{stats}:" instead
// of "stats:", one slot for them all: see KeyPrefix):
//
//	stats:plays:hour:H    hash   plays, mobile, desktop, listeners (distinct customers)
//	stats:zip:hour:H      zset   listening zip code -> plays (top Config.TopZips)
//	stats:zip:day:D       zset   listening zip code -> plays (top Config.TopZips)
//	stats:track:hour:H    zset   track id -> plays (top Config.TopTracks)
//	stats:level:hour:H    hash   customer level (0 Free, 1 Silver, 2 Gold, "unknown") -> plays
//	stats:gender:hour:H   hash   customer gender (0, 1, "unknown") -> plays
//	stats:age:hour:H      hash   customer age band -> plays; only plays whose customer has one
//	stats:hours           zset   H -> the hour's start (unix seconds): the hours written
//	stats:days            zset   D -> the day's start (unix seconds)
//
// # Partitions and idempotence
//
// A partitioned pipeline (stream.Pipeline.ViaPartitioned) gives each
// partition its own operator, which sees only that partition's plays. Each
// therefore writes partial results under stats:part:<partition>:<key> (HSET
// and ZADD of absolute counts, never increments) and registers its partition
// in stats:partitions; a Lua script then rebuilds the key above as the sum of
// all partitions' partials, atomically. Writing the same window twice gives
// the same content, and a window's re-fire after a late event (window
// WindowInfo.Update) overwrites the counts it changed. Distinct listeners add
// up across partitions because plays are partitioned by customer.
// With stream.Config.Parallelism above 1 each partition runs several lanes;
// build the operators with a Factory so that each lane writes partials of its
// own (stats:part:<partition>.l<lane>:<key>); New alone refuses to start then.
// Partials of an earlier run with another partitioning would add up too: give
// each run its own Prefix, or delete the stats: keys first.
//
// A window is written when the watermark passes its end: the dashboard shows
// complete hours. Failed writes are kept (latest counts win) and retried on
// later calls after Config.RetryEvery; they are part of the snapshot, so a
// checkpoint does not lose them.
//
// Reader reads the keys back for the dashboard.
package analytics
