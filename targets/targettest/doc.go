// Package targettest is the conformance suite every rulestream sink passes:
// records arrive complete, in write order where the sink promises order,
// an event written twice is stored once by idempotent sinks (and carries the
// same ID otherwise), failed attempts are retried without loss, and a closed
// sink refuses writes.
//
// A sink's test provides a Harness: the sink, a way to read back what it
// stored, and optionally a way to make the next attempts fail:
//
//	func TestConformance(t *testing.T) {
//		targettest.Run(t, func(t *testing.T) targettest.Harness {
//			sink := targets.NewMemory()
//			return targettest.Harness{Sink: sink, Read: ..., Ordered: true, Idempotent: true}
//		})
//	}
package targettest
