// Package worker is the SMS worker of the rulestream demo: it reads the SMS
// offers that the "sms" target writes to the Redis stream queue:sms, through
// a consumer group, and sends them through a Sender.
//
// Delivery is at least once and nothing is lost:
//
//   - an entry is XACKed only after its SMS was sent;
//   - a failed send is retried with backoff; after MaxAttempts failures (or
//     a permanent failure) the entry is copied to queue:sms:dead with the
//     error and acknowledged, atomically (MULTI);
//   - on start the worker first re-reads its own pending entries (a restart
//     under the same consumer name), and every ClaimEvery it claims entries
//     left pending by a dead worker for ClaimMinIdle (XAUTOCLAIM);
//   - on shutdown (ctx cancelled) it finishes the SMS in flight, acks it and
//     stops; entries it had read but not sent stay pending for the next run
//     or another worker.
//
// An SMS can therefore be sent twice when a worker dies between sending and
// acknowledging: SMS.EntryID is stable across deliveries, and the webhook
// sender passes it as the Idempotency-Key header for the gateway to
// deduplicate.
package worker
