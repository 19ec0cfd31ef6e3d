package job

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/IBM/sarama"

	"github.com/rulestream/rulestream/stream"
	"github.com/rulestream/rulestream/stream/kafka"
)

// KafkaConfig tunes the consumer of a Kafka input.
type KafkaConfig struct {
	// StopAtEnd ends the input once every assigned partition is read up to
	// the high-water mark it had at the start (a bounded run).
	StopAtEnd bool
	// SessionTimeout is the consumer group's session timeout: how soon a
	// dead instance's partitions move. Default 10s.
	SessionTimeout time.Duration
	// Logger receives the consumer's logs.
	Logger *slog.Logger
}

// KafkaSource returns the consumer-group source of a Kafka input, wired to
// p's partition hooks: a partition assigned here has its state restored
// from its checkpoint and is read from the checkpoint's offset; a revoked
// one is checkpointed first. Give p checkpoints (stream.Config.Checkpoints)
// and a partitioned chain (ViaPartitioned).
func (j *Job) KafkaSource(p *stream.Pipeline, cfg KafkaConfig) (*kafka.Source, error) {
	in := j.Input.Kafka
	if in == nil {
		return nil, errors.New("job: the input is not Kafka")
	}
	if j.Input.Header {
		return nil, errors.New("job: a CSV header is for files; Kafka messages are positional CSV (columns) or JSON")
	}
	dec, err := j.Decoder()
	if err != nil {
		return nil, err
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	off := kafka.Oldest
	if in.Offset == "newest" {
		off = kafka.Newest
	}
	var src *kafka.Source
	src, err = kafka.NewSource(kafka.SourceConfig{
		Brokers: slices.Clone(in.Brokers), Topic: in.Topic, Group: in.Group, Decoder: dec,
		InitialOffset: off, StopAtEnd: cfg.StopAtEnd, Logger: cfg.Logger,
		Client: kafka.ClientConfig{Sarama: func(c *sarama.Config) error {
			// A dead instance's partitions move after the session timeout;
			// a rebalance waits at most a few of them for the live members.
			c.Consumer.Group.Session.Timeout = cfg.SessionTimeout
			c.Consumer.Group.Heartbeat.Interval = max(cfg.SessionTimeout/4, 100*time.Millisecond)
			c.Consumer.Group.Rebalance.Timeout = max(3*cfg.SessionTimeout, 3*time.Second)
			c.Net.ReadTimeout = max(c.Net.ReadTimeout, c.Consumer.Group.Rebalance.Timeout+5*time.Second)
			return nil
		}},
		OnAssign: func(ctx context.Context, _ string, part int32) (int64, bool, error) {
			return p.AssignPartition(ctx, src, part)
		},
		OnRevoke: func(ctx context.Context, _ string, part int32) error {
			return p.RevokePartition(ctx, src, part)
		},
	})
	return src, err
}

// Lanes reports whether a partition's events may be split across parallel
// lanes (stream.Config.Parallelism) by their key: only when the input has
// a key and every built window's key includes the input's key fields, so
// that a window key's events all land in one lane. why says what prevents
// it.
func (j *Job) Lanes() (ok bool, why string) {
	if len(j.Input.Key) == 0 {
		return false, "the input has no key"
	}
	for _, name := range j.Plan().Windows {
		w, _ := j.Window(name)
		for _, k := range j.Input.Key {
			if !slices.Contains(w.Key, k) {
				return false, "window " + name + " is not keyed by the input's key field " + k
			}
		}
	}
	return true, ""
}
