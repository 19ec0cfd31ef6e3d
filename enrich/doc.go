// Package enrich joins reference data kept in Redis onto stream events, and
// loads that reference data.
//
// LoadTable loads a CSV file with a header into one hash per row, keyed by a
// template over the row's fields (Table.Key, e.g. "account:{id}"), with the
// columns, hash fields, types and conversions a Table declares (or every
// column as a string). The file is read line by line, never letting a
// quoted field run past the end of a line, and written in pipelined
// batches. A bad row is reported with its line number and skipped; a row
// with an unbalanced quote whose columns are still unambiguous is recovered
// and reported. Re-running a load is idempotent.
//
// Lookup is a stream.Operator that renders a key template over each event's
// fields (LookupConfig.Key, e.g. "account:{user}" or
// "geo:{country}:{city}"), looks the record up in a local Cache (bounded in
// entries, with a TTL, negative caching of unknown keys, one in-flight fetch
// per key) and fetches the misses of a batch from Redis in one pipelined
// round trip. Unknown keys, and events lacking a value for the template,
// are passed (default), dropped or dead-lettered. If Redis is unreachable
// the lookup retries with backoff, blocking its batch (backpressure:
// nothing is dropped), reports a degraded Health, and resumes by itself.
//
// An Invalidator keeps caches fresh through Redis keyspace notifications or a
// pub/sub channel, so that a changed record is seen within a second. Keyspace
// notifications are local to a node: given a *redis.ClusterClient, the
// Invalidator subscribes on every master it finds when Run starts; the
// channel mode (InvalidatorConfig.Channel and Publish) reaches every node's
// subscribers as it is.
//
// Connect opens a client from what a -redis flag takes: a host:port or a
// redis:// or rediss:// URL (TLS, ACL user and password) for one server,
// several of them comma-separated for a Redis Cluster (a
// *redis.ClusterClient); Open does the same without the PING, and Redact
// hides the password of a URL for logs. Any go-redis UniversalClient
// (single node, Sentinel, Cluster) may be used instead.
package enrich
