package targets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/rulestream/rulestream/stream"
)

// WatermillConfig configures a watermill sink. Zero values mean defaults.
type WatermillConfig struct {
	// Topic is a template of the topic per event (default "{$target}").
	Topic string
	// Fields is the payload subset (nil: all fields).
	Fields []string
	// Marshal turns an event into a message (default: the JSON object of
	// the payload, UUID = event ID, metadata target, key, id, event_time).
	// The event is only valid during the call.
	Marshal func(ev *stream.Event) (*message.Message, error)
	// Batch says when pending messages are published.
	Batch BatchPolicy
	// Retry is the backoff for failed publishes.
	Retry Backoff
	// Clock drives the batch period (default: the wall clock).
	Clock stream.Clock
	// Logger receives retry warnings (nil: discard).
	Logger *slog.Logger
}

// WatermillSink publishes events to any watermill Publisher, for transports
// other than Redis. Publishers are not idempotent: a retried or replayed
// event is published again with the same message UUID (its ID), so that
// consumers can deduplicate (watermill's middleware.Deduplicator).
type WatermillSink struct {
	pub     message.Publisher
	cfg     WatermillConfig
	topic   *stream.Template
	fields  fieldPicker
	batch   *Batcher
	pending []topicMsg
	closed  bool
}

type topicMsg struct {
	topic string
	msg   *message.Message
}

// NewWatermill returns a sink publishing to pub. Close does not close pub.
func NewWatermill(pub message.Publisher, cfg WatermillConfig) (*WatermillSink, error) {
	if pub == nil {
		return nil, errors.New("targets: watermill sink: nil publisher")
	}
	if cfg.Topic == "" {
		cfg.Topic = "{$target}"
	}
	t, err := stream.ParseTemplate(cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("targets: watermill sink: %w", err)
	}
	if err := cfg.Batch.Validate(); err != nil {
		return nil, err
	}
	cfg.Batch.setDefaults()
	cfg.Retry.setDefaults()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &WatermillSink{pub: pub, cfg: cfg, topic: t, fields: fieldPicker{names: cfg.Fields}}
	s.batch = NewBatcher(cfg.Batch, cfg.Clock)
	if s.cfg.Marshal == nil {
		s.cfg.Marshal = s.marshalJSON
	}
	return s, nil
}

func (s *WatermillSink) marshalJSON(ev *stream.Event) (*message.Message, error) {
	if ev.Schema == nil {
		return nil, fmt.Errorf("event %s has no schema", ev.Describe())
	}
	uuid := ev.ID
	if uuid == "" {
		uuid = watermill.NewUUID()
	}
	m := message.NewMessage(uuid, appendJSON(nil, ev, s.fields.pick(ev.Schema), s.fields.names))
	m.Metadata.Set("target", ev.Target)
	m.Metadata.Set("key", ev.Key)
	m.Metadata.Set("id", ev.ID)
	m.Metadata.Set("event_time", ev.EventTime().Format(time.RFC3339Nano))
	return m, nil
}

// Write marshals events into the pending batch and publishes it when the
// batch policy says so.
func (s *WatermillSink) Write(ctx context.Context, events []stream.Event) error {
	if s.closed {
		return ErrClosed
	}
	for i := range events {
		topic, err := s.topic.Render(&events[i])
		if err != nil {
			return Permanent(fmt.Errorf("targets: watermill sink: %w", err))
		}
		m, err := s.cfg.Marshal(&events[i])
		if err != nil {
			return Permanent(fmt.Errorf("targets: watermill sink: %w", err))
		}
		s.pending = append(s.pending, topicMsg{topic: topic, msg: m})
		if s.batch.Add(len(m.Payload)) {
			if err := s.Flush(ctx); err != nil {
				return err
			}
		}
	}
	if s.batch.Due() {
		return s.Flush(ctx)
	}
	return nil
}

// Flush publishes the pending messages in order, each run of one topic in
// one Publish call, retrying with backoff. Published runs are not sent again.
func (s *WatermillSink) Flush(ctx context.Context) error {
	err := s.cfg.Retry.do(ctx, s.cfg.Logger, "watermill sink", func(ctx context.Context) error {
		for len(s.pending) > 0 {
			n := 1
			for n < len(s.pending) && s.pending[n].topic == s.pending[0].topic {
				n++
			}
			msgs := make([]*message.Message, n)
			for i := range msgs {
				msgs[i] = s.pending[i].msg
				msgs[i].SetContext(ctx)
			}
			if err := s.pub.Publish(s.pending[0].topic, msgs...); err != nil {
				return err
			}
			clear(s.pending[:n])
			s.pending = s.pending[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("targets: %w", err)
	}
	s.pending = s.pending[:0]
	s.batch.Reset()
	return nil
}

// Close publishes what is pending; it does not close the publisher.
func (s *WatermillSink) Close(ctx context.Context) error {
	if s.closed {
		return nil
	}
	err := s.Flush(ctx)
	s.closed = true
	return err
}
