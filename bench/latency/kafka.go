package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
)

// kafkaWriter produces each play to an in-process kfake broker, keyed by
// its customer id, through sarama's async producer flushing every
// millisecond.
type kafkaWriter struct {
	c *kfake.Cluster
	p sarama.AsyncProducer
}

func newKafkaWriter() (*kafkaWriter, string, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "plays"))
	if err != nil {
		return nil, "", err
	}
	cfg := sarama.NewConfig()
	cfg.Producer.Flush.Frequency = time.Millisecond
	cfg.Producer.Return.Successes = false
	cfg.Producer.Return.Errors = true
	cfg.Producer.RequiredAcks = sarama.WaitForLocal
	p, err := sarama.NewAsyncProducer(c.ListenAddrs(), cfg)
	if err != nil {
		c.Close()
		return nil, "", err
	}
	go func() {
		for err := range p.Errors() {
			fmt.Println("latency: produce:", err)
		}
	}()
	return &kafkaWriter{c: c, p: p}, c.ListenAddrs()[0], nil
}

func (w *kafkaWriter) write(_ context.Context, lines []byte) error {
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n')
		line := lines[:i]
		lines = lines[i+1:]
		f := bytes.SplitN(line, []byte(","), 3)
		w.p.Input() <- &sarama.ProducerMessage{Topic: "plays", Key: sarama.ByteEncoder(bytes.Clone(f[1])), Value: sarama.ByteEncoder(bytes.Clone(line))}
	}
	return nil
}

func (w *kafkaWriter) close() error {
	err := w.p.Close()
	w.c.Close()
	return err
}
