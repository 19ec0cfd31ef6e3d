// Package stream is the core of rulestream: events, the Source and Sink
// boundaries, decoders with a dead-letter, event-time watermarks, and the
// pipeline builder and runner.
//
// A pipeline is declared, validated, then run:
//
//	p := stream.New("music", stream.Config{OutOfOrderness: 5 * time.Minute})
//	p.From(stream.NewFileSource("tracks.csv", stream.PlayDecoder{}, stream.FileConfig{}))
//	p.Via(myOperator)
//	p.To(mySink)
//	p.DeadLetter(deadLetterSink)
//	err := p.Run(ctx)
//
// Events move through the pipeline in batches. Sources read batches and
// decode them; malformed records become Rejects and are routed to the
// dead-letter sink, counted, while every other event flows on. The runner
// assigns each event to its source partition, keeps a bounded-out-of-orderness
// watermark per partition and a pipeline watermark (the minimum over active
// partitions, idle partitions excluded), routes events that are later than
// the allowed lateness to the late sink, and calls the operators, which are
// plain state machines advanced by batches and watermarks: they own no
// goroutines and no timers.
//
// Run returns the first error or ctx.Err(). On cancellation it stops taking
// input, drains what is in flight, flushes the sinks, then returns. A panic in
// an operator or sink becomes an error.
package stream
