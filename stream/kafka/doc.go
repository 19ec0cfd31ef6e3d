// Package kafka reads a Kafka topic into a rulestream pipeline as a member
// of a consumer group, and publishes lines of a file to a topic. It is
// built on github.com/IBM/sarama.
//
// # Source
//
// NewSource returns a stream.Source (and stream.PartitionSource) that joins
// the group named in SourceConfig and reads one topic. Each message value is
// decoded with SourceConfig.Decoder (required: a decoder declaring its
// schema, such as stream.NewJSONDecoder or stream.NewColumnsDecoder); a
// malformed value becomes a stream.Reject whose position is
// topic/partition/offset and whose Raw holds the value's bytes. Every event's
// Pos is {Source: topic, Partition: p, Offset: offset}.
//
// A batch holds messages of one partition only, in offset order, so the
// runner can keep a watermark (and later state) per partition. Batches of one
// partition are handed out in order. Acknowledging a batch without error
// marks its offsets; marked offsets are committed every CommitInterval, on
// revoke and on Close. Only the contiguous acknowledged prefix is marked: a
// batch acknowledged before an earlier one waits for it, and a nacked batch
// stops the partition's offset in front of it for the rest of the session
// (with RedeliverOnNack the consumer rejoins so the partition restarts
// there). Delivery is therefore at least once.
//
// # Assignment and revocation: the ordering guarantees
//
// The source uses the eager rebalance protocol (cooperative strategies are
// refused), so a rebalance ends the whole session. For a session:
//
//  1. Setup: for each assigned partition, in partition order, OnAssign runs
//     before anything of that partition is fetched. If it returns ok, the
//     partition is consumed from the returned offset (and that offset is
//     marked); otherwise from the committed offset, or InitialOffset when
//     there is none. Then Assigned() receives the partitions.
//  2. Batches flow. Read never mixes partitions in one batch.
//  3. When the session ends (rebalance, Close, RedeliverOnNack) each
//     partition stops handing out batches (a batch not yet taken by Read is
//     dropped, never acknowledged, and will be delivered again by whoever
//     owns the partition next), then waits until every batch it handed out
//     was acknowledged or nacked (at most RevokeTimeout; Close's ctx can cut
//     it short). Later acknowledgements of that partition are ignored.
//  4. Cleanup, once all partitions are settled: OnRevoke runs for each
//     partition whose OnAssign succeeded, in partition order; then the marked
//     offsets are committed synchronously; then Revoked() receives the
//     partitions. Only then does sarama rejoin the group, so no other member
//     reads the partitions before OnRevoke has returned.
//
// Every successful OnAssign is matched by exactly one OnRevoke, also when
// another partition's OnAssign fails (which stops the source: Read returns an
// *AssignError).
//
// # End of input
//
// With StopAtEnd, Read returns stream.ErrEndOfInput once every partition
// assigned to this consumer was delivered up to the high-water mark it had
// when the source connected. A consumer assigned no partition at all ends
// as soon as its first session starts.
//
// # Producer
//
// ProduceLines publishes lines (CSV records, JSON lines), one message per
// line, keyed by ProducerConfig.Key (CSVColumn(i): a CSV column) so that
// one key's lines land in one partition.
//
// # Latency
//
// Nothing waits to fill: a batch holds the messages that have arrived, a
// fetch returns at the broker's first new byte (Consumer.Fetch.Min 1), and
// ProduceLines sends a line as soon as it reads it, a request leaving after
// ProducerConfig.Linger (5ms). SourceConfig.MaxWait (50ms, sarama's default
// is 500ms) bounds how long a partition that joins the fetches (newly
// assigned, or resumed after the pipeline was slow) waits for the fetch in
// flight (a fetch in flight for other, idle partitions lasts MaxWait).
// After an assignment sarama gathers the partitions' subscriptions for
// 100ms before fetching, whatever MaxWait. BENCHMARKS.md has the figures.
//
// # Observability
//
// Stats reports, per assigned partition, the high-water mark, the next
// offset to deliver, the marked offset and the lag (high-water mark minus
// marked offset), plus rebalance, revocation, delivery and error counts.
package kafka
