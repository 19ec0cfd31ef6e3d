package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
	"github.com/rulestream/rulestream/stream"
)

// ErrClosed is returned by Read after Close.
var ErrClosed = errors.New("kafka: source closed")

// AssignError is an error returned by OnAssign; it stops the source.
type AssignError struct {
	Topic     string
	Partition int32
	Err       error
}

func (e *AssignError) Error() string {
	return fmt.Sprintf("kafka: assign %s/%d: %v", e.Topic, e.Partition, e.Err)
}

func (e *AssignError) Unwrap() error { return e.Err }

// delivery is a batch handed from a partition's consumer to Read.
type delivery struct {
	p     *partition
	batch stream.Batch
	end   int64
}

// Source reads a topic as a member of a Kafka consumer group. It implements
// stream.Source, stream.Connecter and stream.PartitionSource. Each batch holds
// events of one partition, in offset order; acknowledging a batch without
// error marks its offsets for commit.
type Source struct {
	cfg      SourceConfig
	sc       *sarama.Config
	client   sarama.Client
	group    sarama.ConsumerGroup
	handoff  chan delivery
	revoked  chan int32
	assigned chan int32
	wake     chan struct{}
	startHW  map[int32]int64 // high-water marks at Connect (StopAtEnd)

	mu       sync.Mutex
	sess     sarama.ConsumerGroupSession
	parts    map[int32]*partition
	cancel   context.CancelFunc // ends the current session (RedeliverOnNack)
	joined   bool               // a session has started since Connect
	ended    bool               // Read returned ErrEndOfInput
	closing  chan struct{}      // closed by Close
	abort    chan struct{}      // closed when Close's ctx expires
	failed   chan struct{}      // closed on a fatal error
	err      error              // the fatal error
	loopDone chan struct{}

	connectOnce sync.Once
	connectErr  error
	closeOnce   sync.Once
	closeErr    error
	stats       counters
}

// NewSource returns a source for cfg; it connects on Connect (or the first Read).
func NewSource(cfg SourceConfig) (*Source, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kafka source: %w", err)
	}
	sc, err := cfg.saramaConfig()
	if err != nil {
		return nil, fmt.Errorf("kafka source: %w", err)
	}
	return &Source{
		cfg: cfg, sc: sc,
		handoff:  make(chan delivery),
		revoked:  make(chan int32, 1024),
		assigned: make(chan int32, 1024),
		wake:     make(chan struct{}, 1),
		closing:  make(chan struct{}),
		abort:    make(chan struct{}),
		failed:   make(chan struct{}),
	}, nil
}

// Name returns the topic.
func (s *Source) Name() string { return s.cfg.Topic }

// Schema returns the schema the decoder declares (stream.SchemaSource).
func (s *Source) Schema() *stream.Schema { return s.cfg.Decoder.Schema() }

// Revoked returns a channel that receives each partition this consumer
// stops reading, after its OnRevoke call and offset commit. The channel is
// buffered (1024); when nobody reads it and it is full, further partitions
// are dropped (and logged).
func (s *Source) Revoked() <-chan int32 { return s.revoked }

// Assigned returns a channel that receives each partition assigned to this
// consumer, after its OnAssign call and before its first batch. Like
// Revoked it is buffered (1024) and drops when full.
func (s *Source) Assigned() <-chan int32 { return s.assigned }

// Connect creates the client, reads the high-water marks (StopAtEnd) and
// joins the group in the background.
func (s *Source) Connect(ctx context.Context) error {
	s.connectOnce.Do(func() { s.connectErr = s.connect(ctx) })
	return s.connectErr
}

func (s *Source) connect(ctx context.Context) error {
	client, err := sarama.NewClient(s.cfg.Brokers, s.sc)
	if err != nil {
		return fmt.Errorf("kafka source %s: %w", s.cfg.Topic, err)
	}
	if _, err := client.Partitions(s.cfg.Topic); err != nil {
		_ = client.Close()
		return fmt.Errorf("kafka source: topic %s: %w", s.cfg.Topic, err)
	}
	if s.cfg.StopAtEnd {
		if s.startHW, err = highWaterMarks(client, s.cfg.Topic); err != nil {
			_ = client.Close()
			return fmt.Errorf("kafka source %s: %w", s.cfg.Topic, err)
		}
	}
	group, err := sarama.NewConsumerGroupFromClient(s.cfg.Group, client)
	if err != nil {
		_ = client.Close()
		return fmt.Errorf("kafka source %s: group %s: %w", s.cfg.Topic, s.cfg.Group, err)
	}
	s.client, s.group = client, group
	loopCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.loopDone = make(chan struct{})
	go s.logErrors()
	go func() {
		defer stop()
		s.loop(loopCtx)
	}()
	go func() {
		<-s.closing
		stop()
	}()
	return nil
}

func highWaterMarks(client sarama.Client, topic string) (map[int32]int64, error) {
	ids, err := client.Partitions(topic)
	if err != nil {
		return nil, err
	}
	hw := make(map[int32]int64, len(ids))
	for _, id := range ids {
		off, err := client.GetOffset(topic, id, sarama.OffsetNewest)
		if err != nil {
			return nil, fmt.Errorf("partition %d: high-water mark: %w", id, err)
		}
		hw[id] = off
	}
	return hw, nil
}

// Read returns the next batch: events of one partition in offset order. It
// returns stream.ErrEndOfInput when StopAtEnd is set and the assigned
// partitions have caught up, and the error of OnAssign if it failed.
func (s *Source) Read(ctx context.Context) (stream.Batch, error) {
	if err := s.Connect(ctx); err != nil {
		return stream.Batch{}, err
	}
	for {
		if s.cfg.StopAtEnd && s.caughtUp() {
			return stream.Batch{}, stream.ErrEndOfInput
		}
		select {
		case d := <-s.handoff:
			d.p.delivered(d.end)
			s.stats.batches.Add(1)
			s.stats.delivered.Add(int64(len(d.batch.Events)))
			s.stats.rejected.Add(int64(len(d.batch.Rejects)))
			return d.batch, nil
		case <-s.wake:
		case <-s.failed:
			return stream.Batch{}, s.err
		case <-s.closing:
			return stream.Batch{}, ErrClosed
		case <-ctx.Done():
			return stream.Batch{}, ctx.Err()
		}
	}
}

// caughtUp reports whether every assigned partition was delivered up to its
// high-water mark at Connect. Once true it stays true.
func (s *Source) caughtUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return true
	}
	if !s.joined || s.parts == nil {
		return false
	}
	for id, p := range s.parts {
		if !p.caughtUp(s.startHW[id]) {
			return false
		}
	}
	s.ended = true
	return true
}

// announce sends id on ch without blocking.
func (s *Source) announce(ch chan int32, what string, id int32) {
	select {
	case ch <- id:
	default:
		s.cfg.Logger.Warn("kafka: channel full, dropped", "channel", what, "partition", id)
	}
}

func (s *Source) wakeRead() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Source) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		close(s.failed)
	}
}

// nacked is called (with p.mu held) when a batch of p failed.
func (s *Source) nacked(p *partition, err error) {
	s.cfg.Logger.Warn("kafka: batch nacked", "topic", p.topic, "partition", p.id, "error", err)
	if s.cfg.RedeliverOnNack {
		go s.endSession()
	}
}

// endSession ends the current session so the group is rejoined.
func (s *Source) endSession() {
	s.mu.Lock()
	cancel := s.cancel
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// Close ends the session (in-flight batches are awaited, OnRevoke is called
// and offsets are committed), leaves the group and closes the client. If ctx
// expires first, the wait for in-flight batches is abandoned.
func (s *Source) Close(ctx context.Context) error {
	s.connectOnce.Do(func() { s.connectErr = ErrClosed })
	s.closeOnce.Do(func() {
		close(s.closing)
		if s.group == nil {
			return
		}
		select {
		case <-s.loopDone:
		case <-ctx.Done():
			close(s.abort)
			<-s.loopDone
		}
		if err := s.group.Close(); err != nil && !errors.Is(err, sarama.ErrClosedClient) {
			s.closeErr = fmt.Errorf("kafka source %s: close: %w", s.cfg.Topic, err)
		}
	})
	return s.closeErr
}

var _ stream.PartitionSource = (*Source)(nil)
var _ stream.Connecter = (*Source)(nil)
var _ stream.SchemaSource = (*Source)(nil)
