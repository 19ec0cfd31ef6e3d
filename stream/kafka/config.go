package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/rulestream/rulestream/stream"
)

// InitialOffset says where a group with no committed offset starts reading.
type InitialOffset int

const (
	// Oldest starts at the oldest retained message (the default, as in
	// Kafka Streams).
	Oldest InitialOffset = iota
	// Newest starts at the end: only messages produced from now on.
	Newest
)

// SASL holds SASL/PLAIN credentials. For SCRAM or OAUTHBEARER set the
// mechanism and its client generator through ClientConfig.Sarama.
type SASL struct {
	User     string
	Password string
}

// ClientConfig holds the settings shared by the source and the producer.
type ClientConfig struct {
	// ClientID names this client to the brokers. Default "rulestream".
	ClientID string
	// TLS, when set, enables TLS with this configuration.
	TLS *tls.Config
	// SASL, when set, enables SASL/PLAIN with these credentials.
	SASL *SASL
	// Sarama, when set, is called last on the sarama configuration built
	// from the other fields, to set anything else (Version, SCRAM, timeouts).
	Sarama func(*sarama.Config) error
}

func (c ClientConfig) apply(sc *sarama.Config) error {
	sc.ClientID = c.ClientID
	if sc.ClientID == "" {
		sc.ClientID = "rulestream"
	}
	if c.TLS != nil {
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = c.TLS
	}
	if c.SASL != nil {
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
		sc.Net.SASL.User = c.SASL.User
		sc.Net.SASL.Password = c.SASL.Password
	}
	if c.Sarama != nil {
		if err := c.Sarama(sc); err != nil {
			return fmt.Errorf("sarama config: %w", err)
		}
	}
	return nil
}

// SourceConfig configures a Source. Zero values mean the defaults.
type SourceConfig struct {
	// Brokers are the bootstrap addresses (host:port). Required.
	Brokers []string
	// Topic is the topic read. Required.
	Topic string
	// Group is the consumer group id. Required.
	Group string
	// InitialOffset is where a partition without a committed offset starts.
	// Default Oldest.
	InitialOffset InitialOffset
	// Decoder turns a message value into an event. Required; it must
	// declare its schema (stream.NewColumnsDecoder, stream.NewJSONDecoder).
	// Header-mapped decoders are refused: messages have no header.
	Decoder stream.Decoder
	// BatchSize is the most events in one batch. Default 1024. A batch
	// holds what has arrived: it never waits to fill.
	BatchSize int
	// MaxWait is how long the broker may hold a fetch while the partitions
	// have no new data (sarama's Consumer.MaxWaitTime; Consumer.Fetch.Min
	// is 1 byte, so a new message ends the wait at once). It does not
	// delay a message of a partition being fetched, but bounds how long a
	// partition joins the next fetch: one just assigned, or one resumed
	// after the pipeline took its messages slower than sarama's
	// MaxProcessingTime (100ms). Each idle broker connection then answers
	// a fetch every MaxWait: at 50ms, 20 small requests a second. Default
	// 50ms (sarama's own default is 500ms); at least 1ms.
	MaxWait time.Duration
	// StopAtEnd makes Read return stream.ErrEndOfInput once every partition
	// assigned to this consumer has been delivered up to the high-water mark
	// it had when the source connected. For tests and one-shot runs.
	StopAtEnd bool
	// CommitInterval is how often marked (acknowledged) offsets are
	// committed. Offsets are also committed synchronously on revoke and on
	// Close. Default 1s.
	CommitInterval time.Duration
	// OnAssign, when set, is called for each partition assigned to this
	// consumer, before it is consumed. If it returns ok, consumption starts
	// at offset instead of the committed offset. An error stops the source:
	// Read returns it.
	OnAssign func(ctx context.Context, topic string, partition int32) (offset int64, ok bool, err error)
	// OnRevoke, when set, is called for each partition this consumer stops
	// reading (rebalance or Close), once every batch of the partition it
	// delivered was acknowledged or nacked, and before the offsets are
	// committed and the group moves on. Its ctx expires after RevokeTimeout.
	OnRevoke func(ctx context.Context, topic string, partition int32) error
	// RevokeTimeout bounds the wait for in-flight batches of a revoked
	// partition and the OnRevoke call. Default 30s; keep it below the
	// group's rebalance timeout (sarama's default 60s).
	RevokeTimeout time.Duration
	// RedeliverOnNack makes a nacked batch come back: the consumer leaves its
	// session and rejoins the group, so the partition restarts at its last
	// committed offset. Without it, a nack only stops the partition's offset
	// from moving past the nacked batch in this session.
	RedeliverOnNack bool
	// RetryBackoff is the pause before rejoining after a group error.
	// Default 250ms.
	RetryBackoff time.Duration
	// Client holds the connection settings (TLS, SASL, sarama overrides).
	Client ClientConfig
	// Logger receives the source's logs. Default: discard.
	Logger *slog.Logger
}

func (c *SourceConfig) setDefaults() {
	if c.BatchSize <= 0 {
		c.BatchSize = 1024
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 50 * time.Millisecond
	}
	if c.CommitInterval <= 0 {
		c.CommitInterval = time.Second
	}
	if c.RevokeTimeout <= 0 {
		c.RevokeTimeout = 30 * time.Second
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 250 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports settings that cannot work.
func (c SourceConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("no Brokers"))
	}
	if c.Topic == "" {
		errs = append(errs, errors.New("no Topic"))
	}
	if c.Group == "" {
		errs = append(errs, errors.New("no Group"))
	}
	if c.MaxWait > 0 && c.MaxWait < time.Millisecond {
		errs = append(errs, fmt.Errorf("MaxWait %v: want at least 1ms (brokers count it in milliseconds), or 0 for the default", c.MaxWait))
	}
	if c.InitialOffset != Oldest && c.InitialOffset != Newest {
		errs = append(errs, fmt.Errorf("InitialOffset %d is neither Oldest nor Newest", c.InitialOffset))
	}
	switch c.Decoder.(type) {
	case nil:
		errs = append(errs, errors.New("no Decoder"))
	case stream.HeaderDecoder:
		errs = append(errs, fmt.Errorf("Decoder %T is a HeaderDecoder: Kafka messages have no header line; use a decoder with a declared schema", c.Decoder))
	default:
		if c.Decoder.Schema() == nil {
			errs = append(errs, fmt.Errorf("Decoder %T declares no schema (Schema returns nil)", c.Decoder))
		}
	}
	return errors.Join(errs...)
}

// saramaConfig builds the consumer's sarama configuration.
func (c SourceConfig) saramaConfig() (*sarama.Config, error) {
	sc := sarama.NewConfig()
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	if c.InitialOffset == Newest {
		sc.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	// Fetches end as soon as one byte is there, or after MaxWait.
	sc.Consumer.Fetch.Min = 1
	sc.Consumer.MaxWaitTime = c.MaxWait
	sc.Consumer.Offsets.AutoCommit.Enable = true
	sc.Consumer.Offsets.AutoCommit.Interval = c.CommitInterval
	sc.ChannelBufferSize = max(256, c.BatchSize)
	if err := c.Client.apply(sc); err != nil {
		return nil, err
	}
	for _, st := range sc.Consumer.Group.Rebalance.GroupStrategies {
		if strings.Contains(st.Name(), "cooperative") {
			return nil, fmt.Errorf("balance strategy %s: cooperative rebalancing is not supported (OnAssign must run before a partition is consumed)", st.Name())
		}
	}
	if st := sc.Consumer.Group.Rebalance.Strategy; st != nil && strings.Contains(st.Name(), "cooperative") { //nolint:staticcheck // deprecated field still honoured by sarama
		return nil, fmt.Errorf("balance strategy %s: cooperative rebalancing is not supported", st.Name())
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("sarama config: %w", err)
	}
	return sc, nil
}
