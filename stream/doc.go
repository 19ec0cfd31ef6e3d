// Package stream is the core of rulestream: events, the Source and Sink
// boundaries, decoders with a dead-letter, event-time watermarks, and the
// pipeline builder and runner.
//
// A pipeline is declared, validated, then run:
//
//	dec, err := stream.NewJSONDecoder(stream.RecordSpec{
//		Schema:    loginSchema,
//		TimeField: "time",
//		KeyFields: []string{"user"},
//	}, stream.JSONConfig{})
//	...
//	p := stream.New("logins", stream.Config{OutOfOrderness: 5 * time.Minute})
//	p.From(stream.NewFileSource("logins.jsonl", dec, stream.FileConfig{}))
//	p.Via(myOperator)
//	p.To(mySink)
//	p.DeadLetter(deadLetterSink)
//	err = p.Run(ctx)
//
// # Records and decoders
//
// Events carry typed fields named by a Schema. A decoder turns one record
// (a line of a file, a Kafka message) into an event. The decoders of this
// package are built from a RecordSpec, which declares the schema, the field
// holding the event time (and the TimeFormat of each time field: datetime,
// rfc3339, unix, unix_ms, unix_us, unix_ns or a Go layout) and the key
// fields, so the schema is known before any input:
//
//   - NewColumnsDecoder: positional CSV, column i holding a named field.
//   - NewHeaderCSVDecoder: CSV whose header names the columns, mapped onto
//     the declared fields by name (NewCSVDecoder builds the schema from the
//     header instead, and knows it only once the header is read).
//   - NewJSONDecoder: one JSON object per line or message.
//
// A record that cannot be decoded (malformed text, a type mismatch, a time
// outside 1678..2262, an empty key field, a missing time) becomes a Reject
// with its position, the reason and its raw bytes, and goes to the
// dead-letter sink; every other event flows on. Sources set each event's
// Schema to the decoder's before decoding, and refuse a decoder that
// declares none. Sources that know their schema up front (SchemaSource) let
// the runner tell the operators, in Env.Schema, before the first event.
//
// # Running
//
// Events move through the pipeline in batches. The runner assigns each event
// to its source partition, keeps a bounded-out-of-orderness watermark per
// partition and a pipeline watermark (the minimum over active partitions,
// idle partitions excluded), routes events that are later than the allowed
// lateness to the late sink, and calls the operators, which are plain state
// machines advanced by batches and watermarks: they own no goroutines and no
// timers.
//
// Run returns the first error or ctx.Err(). On cancellation it stops taking
// input, drains what is in flight, flushes the sinks, then returns; if that
// (and closing) does not finish within Config.ShutdownTimeout, it returns a
// *ShutdownError, never ctx.Err(), and unwritten output's input stays
// unacknowledged. A panic in an operator or sink becomes an error.
package stream
