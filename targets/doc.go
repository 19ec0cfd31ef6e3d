// Package targets is where rule results leave rulestream: sinks that write
// emissions to Redis (streams, lists, sorted sets, sets, hashes) or publish
// them to any watermill Publisher, and a Router that dispatches by an
// event's Target.
//
// # Redis sinks
//
// A RedisSink applies one or more Writes to every event it receives. A
// Write names a command (XADD, LPUSH, ZADD, SADD, HSET), a key Template
// filled from the event ("alerts:{user}") and a payload: all the
// event's fields or a subset.
//
//	sink, err := targets.NewRedis(rdb, targets.Config{
//		Name:   "alerts",
//		Writes: []targets.Write{
//			{Op: targets.OpSortedSet, Key: "alerts:{user}", Member: "ip", Score: "at", NX: true},
//			targets.XAdd("queue:alerts"),
//		},
//	})
//
// Writes are batched (BatchPolicy: by count, bytes, and age checked on Write
// and Flush; there is no timer) and sent as one pipeline of script calls,
// one per chunk of up to Config.ChunkSize events. One batch is in flight at a
// time: Redis applies it while Write encodes the next, which is sent only
// once the first is done, so batches arrive in order. A failed batch is
// retried with backoff; the Write that fills the next batch, or Flush, waits
// for it, which back-pressures the pipeline; nothing is dropped. A batch that
// still fails is reported by that Write or Flush and its events stay
// pending. Errors that retrying cannot fix (a key of the wrong type, an
// event lacking a template field) are PermanentErrors.
//
// The script is generated per shape (the sink's writes for one event
// schema): commands, constant keys and field names are literals of the
// script, and a chunk carries only each event's ID and values as one
// MessagePack string. Redis thus decodes only what varies.
//
// # Idempotency
//
// Every emission carries a deterministic ID. The write script checks a
// marker for the ID and applies the event's writes and the marker
// atomically, so writing an event again (a replay after a crash, a batch
// retried after a lost reply) changes nothing in Redis while the marker
// lives (Config.MarkerTTL, 24h by default); past it, a sorted-set write
// with NX or LT (Write.LT: the lowest score wins) still changes nothing, the
// first or the lowest score being there already. Markers are set members bucketed
// by time, which costs far less than one expiring key per event; they take
// about 64 bytes of Redis memory each, up to two TTLs of them (see
// Config.MarkerTTL for sizing).
//
// The emissions of a checkpointed partition (stream.Event.Origin, which the
// runner sets when the pipeline checkpoints) need no TTL: a crash replays
// only what followed the partition's last checkpoint saved. Their markers
// go into a set per epoch and checkpoint generation (MarkerPrefix + Name +
// ":p:" + the partition's checkpoint key + ":" + the epoch + ":" + the
// generation), dropped by the first write after a later checkpoint is
// saved (and by Close, after the runner's final checkpoints); the sets of a
// consumer that crashed are taken over by the replay as it meets their IDs:
// the markers held are those written since the partitions' last
// checkpoints, however many events were written and however old a replay. Those writes are fenced too: the partition's state
// beside the sets (the base key, a hash) holds the highest epoch (stream
// Origin.Epoch) written with; a call with a lower one, a zombie's, writes
// nothing and fails with ErrFenced, a PermanentError. One caveat:
// Redis does not roll back a script, so when the second write of an event
// fails (WRONGTYPE), its first write stays applied (unmarked) and the error
// names the event.
//
// # Outputs in input order: a high-water mark instead of markers
//
// An emission with an Origin and a Seq (stream.Event.Seq: the runner numbers
// the inputs of a checkpointed partition whose operators all emit in arrival
// order) needs no marker at all: a replay emits the same outputs with the
// same Seq in the same order. The sink orders the outputs of one input by
// a hash of their IDs, and the base key holds the partition's highest
// sequence written (w) beside its epoch (e); a write skips what is at or
// below it and raises it atomically with the writes. Memory is one field
// per partition (and slot), whatever the number of events written. An
// output whose Seq is not above the last one the sink encoded for its
// partition is refused (a PermanentError), never skipped silently.
//
// On one Redis (a *redis.Client), when every write is a stream append, the
// chunks go without the write script (plain.go): per chunk, on the sink's
// own connection, WATCH of the base key, a short guard script (the epoch,
// the mark the sink expects, the types of the target keys; on a mismatch it
// touches the base key so that EXEC applies nothing), MULTI, plain XADDs,
// HSET of the new mark, EXEC; a batch's transactions are pipelined in one
// round trip while another goroutine reads their replies. Redis then spends
// about a plain pipelined XADD per entry. Config.NoTransactions keeps the
// script. A partition that starts with no checkpoint while its mark is set
// is logged: it skips its outputs up to the mark.
//
// # Redis Cluster
//
// Given a *redis.ClusterClient, a sink makes every script call touch the
// keys of one hash slot, declared in KEYS (Redis Cluster refuses others).
// It splits each event by the slots of its keys: the writes whose keys share
// a slot (a key's slot is that of its hash tag, "{...}" in the key Redis
// receives: braces in a Write's Key are placeholders, filled before that)
// go to a chunk of that slot with the event's ID; the marker sets of a slot
// carry a hash tag of that slot right after MarkerPrefix
// (rulestream:done:{1bz}XADD queue:ads:<bucket>), with the same buckets,
// TTL and expiry as on a single Redis, so a MarkerPrefix holding "{" is
// refused. On a single Redis nothing changes: one call per chunk of
// events, whatever their keys.
//
// What a multi-key event gets on a cluster: each slot's part of it (all of
// its writes to keys of that slot, in order) is applied and marked
// atomically and idempotently, on its own; its parts in different slots are
// not atomic together. A crash, a failed batch or a failover between them
// can leave one part applied and another not: the replay or the retry
// applies the missing part, once, and skips the applied one (its marker
// is there), so Redis converges to the event applied once, but a reader may
// meanwhile see one part without the other (the interest sorted set
// updated, its queue:interest entry not yet there). Writes to one key keep
// their order. To keep an event's writes atomic together, give its keys one
// hash tag (a Key writes a literal brace as "{{" or "}}"): ZADD
// "{{c{customer_id}}}:interest" and XADD "{{c{customer_id}}}:plays" are in
// one slot per customer, so one call; a stream shared by every customer
// cannot be in each customer's slot. Stats and Pending count an event in
// the slot of its first write.
//
// # Routing
//
// A Router sends each event to the sinks of its Target; NewRedisRouter
// builds one Redis sink per target from named writes, e.g. "alerts" to
// ZADD NX alerts:{user} plus XADD queue:alerts, "audit" to XADD
// queue:audit. Events of an unknown target are an error, never dropped.
//
// # Other transports and tests
//
// WatermillSink publishes to any watermill Publisher (message UUID = event
// ID, so consumers can deduplicate). Memory is an idempotent in-memory fake
// for pipeline tests. Package targettest is the conformance suite every sink
// passes.
package targets
