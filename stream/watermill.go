package stream

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
)

// SubscriberConfig configures a SubscriberSource.
type SubscriberConfig struct {
	// BatchSize is the most messages per batch: after the first message the
	// source takes whatever else is ready, up to this. Default 256. A
	// transport that waits for each ack before the next message (such as
	// watermill's GoChannel) yields batches of one.
	BatchSize int
	// PartitionKey names a metadata key holding a partition number; without
	// it, all messages are partition -1.
	PartitionKey string
}

// SubscriberSource makes any watermill message.Subscriber a Source. Each
// message's payload is one record for the decoder. A batch is acked (every
// message Ack'ed) only after the events' effects are written by the
// pipeline's sinks; if the pipeline fails it is nacked, so the transport can
// redeliver. Malformed payloads go to the dead-letter and are acked with
// their batch once the dead-letter is written.
type SubscriberSource struct {
	sub   message.Subscriber
	topic string
	dec   Decoder
	cfg   SubscriberConfig
	msgs  <-chan *message.Message
	stop  context.CancelFunc
	seq   int64
}

// NewSubscriberSource returns a source reading topic from sub. Connect
// refuses a decoder that declares no schema, or reads a header.
func NewSubscriberSource(sub message.Subscriber, topic string, dec Decoder, cfg SubscriberConfig) *SubscriberSource {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 256
	}
	return &SubscriberSource{sub: sub, topic: topic, dec: dec, cfg: cfg}
}

// Name returns the topic.
func (s *SubscriberSource) Name() string { return s.topic }

// Schema returns the decoder's schema.
func (s *SubscriberSource) Schema() *Schema {
	if s.dec == nil {
		return nil
	}
	return s.dec.Schema()
}

// Connect subscribes to the topic.
func (s *SubscriberSource) Connect(ctx context.Context) error {
	if s.msgs != nil {
		return nil
	}
	if _, ok := s.dec.(HeaderDecoder); ok {
		return errors.New("subscriber source: header-mapped decoders need a header; use a decoder with a fixed schema")
	}
	if err := checkDecoder(s.dec, false); err != nil {
		return fmt.Errorf("subscriber source %s: %w", s.topic, err)
	}
	// The subscription lives until Close, not just for Connect's ctx.
	subCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	msgs, err := s.sub.Subscribe(subCtx, s.topic)
	if err != nil {
		stop()
		return fmt.Errorf("subscribe %s: %w", s.topic, err)
	}
	s.msgs, s.stop = msgs, stop
	return nil
}

// Read waits for a message, then takes those ready, up to BatchSize.
func (s *SubscriberSource) Read(ctx context.Context) (Batch, error) {
	if s.msgs == nil {
		if err := s.Connect(ctx); err != nil {
			return Batch{}, err
		}
	}
	var taken []*message.Message
	select {
	case m, ok := <-s.msgs:
		if !ok {
			return Batch{}, ErrEndOfInput
		}
		taken = append(taken, m)
	case <-ctx.Done():
		return Batch{}, ctx.Err()
	}
more:
	for len(taken) < s.cfg.BatchSize {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				break more
			}
			taken = append(taken, m)
		default:
			break more
		}
	}
	schema := s.dec.Schema()
	n := schema.Len()
	vals := make([]Value, n*len(taken))
	b := Batch{Events: make([]Event, 0, len(taken))}
	for _, m := range taken {
		s.seq++
		pos := Position{Source: s.topic, Partition: -1, Offset: s.seq}
		if s.cfg.PartitionKey != "" {
			if p, ok := parseInt(m.Metadata.Get(s.cfg.PartitionKey)); ok {
				pos.Partition = int32(p)
			}
		}
		line := string(m.Payload)
		if why := checkText(line); why != "" || !utf8.ValidString(line) {
			b.Rejects = append(b.Rejects, Reject{Pos: pos, Reason: why, Raw: m.Payload})
			continue
		}
		ev := Event{Pos: pos, Schema: schema, Fields: vals[:n:n]}
		if err := s.dec.Decode(line, &ev); err != nil {
			b.Rejects = append(b.Rejects, Reject{Pos: pos, Reason: err.Error(), Raw: m.Payload})
			clear(vals[:n])
			continue
		}
		vals = vals[n:]
		b.Events = append(b.Events, ev)
	}
	b.Ack = func(_ context.Context, err error) error {
		for _, m := range taken {
			if err != nil {
				m.Nack()
			} else {
				m.Ack()
			}
		}
		return nil
	}
	return b, nil
}

// Close ends the subscription. The subscriber itself belongs to the caller
// and stays open.
func (s *SubscriberSource) Close(context.Context) error {
	if s.stop != nil {
		s.stop()
	}
	return nil
}

var _ SchemaSource = (*SubscriberSource)(nil)
