package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/IBM/sarama"
)

// loop joins the group and consumes until ctx ends or OnAssign fails.
// Group errors (broker down, coordinator moved) are logged and retried.
func (s *Source) loop(ctx context.Context) {
	defer close(s.loopDone)
	topics := []string{s.cfg.Topic}
	for ctx.Err() == nil {
		sessCtx, cancel := context.WithCancel(ctx)
		s.mu.Lock()
		s.cancel = cancel
		s.mu.Unlock()
		err := s.group.Consume(sessCtx, topics, (*handler)(s))
		cancel()
		if ctx.Err() != nil || errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return
		}
		if ae := (*AssignError)(nil); errors.As(err, &ae) {
			s.fail(ae)
			return
		}
		if err == nil {
			continue // the session ended (rebalance): rejoin
		}
		if fatalGroupError(err) {
			// A setting the brokers refuse: retrying cannot help.
			s.fail(fmt.Errorf("kafka: consumer group %s: %w", s.cfg.Group, err))
			return
		}
		s.stats.errors.Add(1)
		s.cfg.Logger.Warn("kafka: consumer group", "group", s.cfg.Group, "error", err)
		t := time.NewTimer(s.cfg.RetryBackoff)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// logErrors logs the group's asynchronous errors until it is closed.
func (s *Source) logErrors() {
	for err := range s.group.Errors() {
		s.stats.errors.Add(1)
		s.cfg.Logger.Warn("kafka: consumer", "group", s.cfg.Group, "error", err)
	}
}

// handler is the Source seen as a sarama.ConsumerGroupHandler.
type handler Source

// Setup runs when a session starts, before any partition is consumed: it
// calls OnAssign for each claimed partition and seeks to the offset it
// returns.
func (h *handler) Setup(sess sarama.ConsumerGroupSession) error {
	s := (*Source)(h)
	s.stats.rebalances.Add(1)
	ids := slices.Clone(sess.Claims()[s.cfg.Topic])
	slices.Sort(ids)
	parts := make(map[int32]*partition, len(ids))
	s.mu.Lock()
	s.sess = sess
	s.mu.Unlock()
	s.cfg.Logger.Info("kafka: assigned", "topic", s.cfg.Topic, "partitions", ids, "generation", sess.GenerationID())
	// The partitions are published together once all are set up: StopAtEnd
	// must never see a half-filled assignment as "caught up".
	defer func() {
		s.mu.Lock()
		s.parts, s.joined = parts, true
		s.mu.Unlock()
	}()
	for _, id := range ids {
		p := newPartition(s, sess, s.cfg.Topic, id)
		if s.cfg.OnAssign != nil {
			off, ok, err := s.cfg.OnAssign(sess.Context(), s.cfg.Topic, id)
			if err != nil {
				if sess.Context().Err() != nil {
					// The session ended meanwhile (another rebalance, or
					// Close): not the hook's failure; the group rejoins.
					return err
				}
				return &AssignError{Topic: s.cfg.Topic, Partition: id, Err: err}
			}
			if ok {
				// ResetOffset moves back, MarkOffset forward: one applies.
				sess.ResetOffset(s.cfg.Topic, id, off, "")
				sess.MarkOffset(s.cfg.Topic, id, off, "")
			}
		}
		p.assigned = true
		parts[id] = p
	}
	for _, id := range ids {
		s.announce(s.assigned, "Assigned", id)
	}
	s.wakeRead()
	return nil
}

// Cleanup runs when a session ends, after every ConsumeClaim returned (so
// after the in-flight batches of every partition were settled): it calls
// OnRevoke for each partition, commits the marked offsets, then announces
// the partitions on Revoked.
func (h *handler) Cleanup(sess sarama.ConsumerGroupSession) error {
	s := (*Source)(h)
	s.mu.Lock()
	parts := s.parts
	s.sess, s.parts = nil, nil
	s.mu.Unlock()
	ids := make([]int32, 0, len(parts))
	for id, p := range parts {
		p.close()
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var errs []error
	if s.cfg.OnRevoke != nil {
		for _, id := range ids {
			if !parts[id].assigned {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.RevokeTimeout)
			err := s.cfg.OnRevoke(ctx, s.cfg.Topic, id)
			cancel()
			if err != nil {
				s.stats.errors.Add(1)
				s.cfg.Logger.Error("kafka: OnRevoke", "topic", s.cfg.Topic, "partition", id, "error", err)
				errs = append(errs, err)
			}
		}
	}
	sess.Commit()
	for _, id := range ids {
		s.stats.revocations.Add(1)
		s.announce(s.revoked, "Revoked", id)
	}
	s.cfg.Logger.Info("kafka: revoked", "topic", s.cfg.Topic, "partitions", ids)
	return errors.Join(errs...)
}

// ConsumeClaim reads one partition: it gathers the messages available (up
// to BatchSize), decodes them and hands the batch to Read. When the claim
// ends it waits until every batch it handed over was settled.
func (h *handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	s := (*Source)(h)
	s.mu.Lock()
	p := s.parts[claim.Partition()]
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	p.claim.Store(&claim)
	p.begin(s.resolveStart(claim))
	s.wakeRead()
	ctx := sess.Context()
	msgs := claim.Messages()
	buf := make([]*sarama.ConsumerMessage, 0, s.cfg.BatchSize)
	for open := true; open; {
		buf = buf[:0]
		select {
		case m, ok := <-msgs:
			if !ok {
				open = false
				break
			}
			buf = append(buf, m)
		case <-ctx.Done():
			open = false
		}
	drain:
		for open && len(buf) < s.cfg.BatchSize {
			select {
			case m, ok := <-msgs:
				if !ok {
					open = false
					break drain
				}
				buf = append(buf, m)
			default:
				break drain
			}
		}
		if len(buf) == 0 || ctx.Err() != nil {
			break
		}
		start, end := buf[0].Offset, buf[len(buf)-1].Offset+1
		b := decodeMessages(s.cfg.Decoder, buf)
		seq, ack := p.register(start, end)
		b.Ack = ack
		select {
		case s.handoff <- delivery{p: p, batch: b, end: end}:
		case <-ctx.Done():
			p.unregister(seq)
			open = false
		case <-s.closing:
			p.unregister(seq)
			open = false
		}
	}
	if !p.waitDrained(s.cfg.RevokeTimeout, s.abort) {
		s.cfg.Logger.Warn("kafka: revoked partition still has unacknowledged batches", "topic", p.topic, "partition", p.id)
	}
	p.close()
	return nil
}

// resolveStart turns the claim's initial offset into a real offset.
func (s *Source) resolveStart(claim sarama.ConsumerGroupClaim) int64 {
	off := claim.InitialOffset()
	if off >= 0 {
		return off
	}
	if real, err := s.client.GetOffset(claim.Topic(), claim.Partition(), off); err == nil {
		return real
	}
	return off
}

// fatalGroupError reports errors of the group's settings or rights, which
// no retry can mend.
func fatalGroupError(err error) bool {
	for _, kerr := range []sarama.KError{
		sarama.ErrInvalidSessionTimeout, sarama.ErrGroupAuthorizationFailed, sarama.ErrTopicAuthorizationFailed,
		sarama.ErrInvalidGroupId, sarama.ErrInconsistentGroupProtocol, sarama.ErrSASLAuthenticationFailed,
	} {
		if errors.Is(err, kerr) {
			return true
		}
	}
	return false
}
