package worker

import (
	"context"
	"log/slog"
)

// SMS is one offer to send, read from a stream entry.
type SMS struct {
	// EntryID is the stream entry ID: the same on every delivery, a key
	// for deduplication.
	EntryID    string
	CustomerID string
	Name       string
	OfferID    string
	// Fields are all fields of the entry (rule, track_id, at, ...).
	Fields map[string]string
}

// Sender sends one SMS. An error marked with targets.Permanent is not
// retried (the entry goes to the dead stream at once).
type Sender interface {
	Send(ctx context.Context, m SMS) error
}

// SenderFunc adapts a function to a Sender.
type SenderFunc func(ctx context.Context, m SMS) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, m SMS) error { return f(ctx, m) }

// LogSender "sends" by logging, the default of the example.
type LogSender struct{ Logger *slog.Logger }

// Send logs the SMS at Info level.
func (s LogSender) Send(ctx context.Context, m SMS) error {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "sms", "entry", m.EntryID, "customer_id", m.CustomerID, "name", m.Name, "offer_id", m.OfferID)
	return nil
}
