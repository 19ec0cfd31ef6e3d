package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

// ProducerConfig configures ProduceLines. Zero values mean the defaults.
type ProducerConfig struct {
	// Key returns the key of the message of a line (nil: no key), which
	// decides its partition: CSVColumn(i) keys by a CSV column, so that
	// the lines of one key land in one partition. Nil: no keys.
	Key func(line []byte) []byte
	// Client holds the connection settings (TLS, SASL, sarama overrides).
	Client ClientConfig
	// Progress, when set, is called with the number of messages acknowledged
	// so far, every ProgressEvery messages and at the end.
	Progress func(done int64)
	// ProgressEvery is the progress interval. Default 100000.
	ProgressEvery int64
	// Linger is how long a message may wait for others to share its
	// request to the broker (sarama's Producer.Flush.Frequency, Kafka's
	// linger.ms); a request also leaves once it holds 10,000 messages or
	// 1 MiB. At a low rate a message waits up to Linger: at 1,000 lines/s
	// through kfake, 5ms gives a p50 of 3.3 ms from the line's write to its
	// event out of a Source, 1ms 1.2 ms, and costs bulk publishing 10-30%
	// of its rate (BENCHMARKS.md). Default 5ms.
	Linger time.Duration
	// Logger receives the producer's logs. Default: discard.
	Logger *slog.Logger
}

func (c *ProducerConfig) setDefaults() {
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 100000
	}
	if c.Linger <= 0 {
		c.Linger = 5 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func (c ProducerConfig) saramaConfig() (*sarama.Config, error) {
	sc := sarama.NewConfig()
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.RequiredAcks = sarama.WaitForLocal
	sc.Producer.Partitioner = sarama.NewMurmur2Partitioner
	sc.Producer.Flush.Bytes = 1 << 20
	sc.Producer.Flush.Messages = 10000
	sc.Producer.Flush.Frequency = c.Linger
	sc.ChannelBufferSize = 8192
	if err := c.Client.apply(sc); err != nil {
		return nil, err
	}
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("sarama config: %w", err)
	}
	return sc, nil
}

// ProduceFile publishes the lines of the file at path; see ProduceLines.
func ProduceFile(ctx context.Context, brokers []string, topic, path string, cfg ProducerConfig) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := ProduceLines(ctx, brokers, topic, f, cfg)
	if err != nil {
		return n, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// ProduceLines publishes each non-empty line of r (CSV records, JSON
// lines...) as one message to topic, keyed by cfg.Key, so that one key's
// lines land in one partition (murmur2, the Java client's partitioner).
// Each line is sent as soon as it is read: a line from a pipe does not wait
// for more to come (then at most Linger for its request).
// Lines are sent as they are, malformed or not: the consumer dead-letters
// what it cannot decode. It returns the number of messages the brokers
// acknowledged; on error, the lines after the last acknowledged one may or
// may not have been written.
func ProduceLines(ctx context.Context, brokers []string, topic string, r io.Reader, cfg ProducerConfig) (int64, error) {
	cfg.setDefaults()
	sc, err := cfg.saramaConfig()
	if err != nil {
		return 0, err
	}
	p, err := sarama.NewAsyncProducer(brokers, sc)
	if err != nil {
		return 0, fmt.Errorf("kafka producer: %w", err)
	}
	var (
		done     atomic.Int64
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	failed := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range p.Successes() {
			if n := done.Add(1); cfg.Progress != nil && n%cfg.ProgressEvery == 0 {
				cfg.Progress(n)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for e := range p.Errors() {
			errOnce.Do(func() {
				firstErr = fmt.Errorf("kafka producer: %w", e.Err)
				close(failed)
			})
		}
	}()
	sent, readErr := sendLines(ctx, p, topic, r, cfg.Key, failed)
	p.AsyncClose()
	wg.Wait()
	n := done.Load()
	if cfg.Progress != nil && n%cfg.ProgressEvery != 0 {
		cfg.Progress(n)
	}
	cfg.Logger.Info("kafka: produced", "topic", topic, "sent", sent, "acknowledged", n)
	return n, errors.Join(firstErr, readErr)
}

// sendLines reads r into large chunks and sends every whole line as soon as
// it is read (one Read at a time: a pipe's line does not wait for a full
// chunk); message values share the chunk's memory, so a line costs no copy.
// A chunk is only appended to, never rewritten, while its lines may be in
// flight.
func sendLines(ctx context.Context, p sarama.AsyncProducer, topic string, r io.Reader, keyOf func([]byte) []byte, failed <-chan struct{}) (int64, error) {
	const chunk, minRead = 1 << 20, 64 << 10
	var buf []byte // buf[next:] is read but not yet sent
	next := 0
	var sent int64
	for eof := false; !eof; {
		if cap(buf)-len(buf) < minRead {
			rest := buf[next:]
			grown := make([]byte, len(rest), max(chunk, 2*len(rest)))
			copy(grown, rest)
			buf, next = grown, 0
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF):
			eof = true
		case err != nil:
			return sent, fmt.Errorf("read: %w", err)
		}
		lines := buf[next:]
		if !eof {
			last := bytes.LastIndexByte(lines, '\n')
			if last < 0 {
				if len(lines) > 64<<20 {
					return sent, errors.New("read: line longer than 64 MiB")
				}
				continue
			}
			lines = lines[:last+1]
		}
		next += len(lines)
		for len(lines) > 0 {
			i := bytes.IndexByte(lines, '\n')
			var line []byte
			if i < 0 {
				line, lines = lines, nil
			} else {
				line, lines = lines[:i], lines[i+1:]
			}
			line = bytes.TrimRight(line, "\r")
			if len(line) == 0 {
				continue
			}
			msg := &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(line)}
			if keyOf != nil {
				if key := keyOf(line); key != nil {
					msg.Key = sarama.ByteEncoder(key)
				}
			}
			select {
			case p.Input() <- msg:
				sent++
			case <-failed:
				return sent, nil
			case <-ctx.Done():
				return sent, ctx.Err()
			}
		}
	}
	return sent, nil
}

// CSVColumn returns a ProducerConfig.Key that keys a CSV line by its
// column i (0-based), unquoted when simply quoted; a line with fewer
// columns has no key.
func CSVColumn(i int) func(line []byte) []byte {
	return func(line []byte) []byte { return csvColumn(line, i) }
}

func csvColumn(line []byte, col int) []byte {
	f := line
	for ; col > 0; col-- {
		j := bytes.IndexByte(f, ',')
		if j < 0 {
			return nil
		}
		f = f[j+1:]
	}
	if j := bytes.IndexByte(f, ','); j >= 0 {
		f = f[:j]
	}
	if len(f) >= 2 && f[0] == '"' && f[len(f)-1] == '"' {
		f = f[1 : len(f)-1]
	}
	return f
}
