// Command compare measures the library against code written without it, on
// the same generated input and the same Redis, and checks that both write
// the same results.
//
// Without -peer it runs the whole music-stream scenario twice: once as a Go
// engineer would write it without the library (one goroutine, encoding/csv,
// HGETALL per event, maps of timestamps, ZADD NX and XADD per emission, a
// dedup map), once as the library's pipeline (examples/musicstream/music),
// each under its own key prefix. It prints both throughputs, whether the
// Redis results are identical, and last a line "ratio: N.N" (library events/s
// over baseline events/s). It exits 1 when the results differ.
//
//	go run ./bench/compare -events 1000000 -redis 127.0.0.1:6379
//
// The input is generated in event-time order (ties by event id) with
// duplicate deliveries: the baseline processes plays in arrival order, which
// then is event-time order, so its results must equal the library's, which
// decides in event time whatever the arrival order.
//
// With -peer benthos or -peer handwritten it runs the ad job (drop re-delivered
// event ids, look the customer up, keep plays of active non-Gold customers,
// XADD them to queue:ads) in the peer, built from bench/peers/<name> (a Go
// module of its own) and run as a subprocess, and in the library, and checks
// that both queues hold the same event ids without duplicates. The last line
// is "benthos ratio: N.N" or "handwritten ratio: N.N". The library's ad job
// runs as a user runs it for exactly-once writes: the file checkpointed in
// Redis (its offset and state, every second), its outputs written in input
// order against a high-water mark per partition (-checkpoint=false: no
// checkpoint, markers kept for their TTL instead). Each run's line gives
// redis-server's CPU time and its own process's.
package main
