package worker

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/targets"
)

func toSMS(m redis.XMessage) SMS {
	f := make(map[string]string, len(m.Values))
	for k, v := range m.Values {
		f[k] = fmt.Sprint(v)
	}
	return SMS{EntryID: m.ID, CustomerID: f["customer_id"], Name: f["name"], OfferID: f["offer_id"], Fields: f}
}

// malformed says why an entry cannot be an SMS (a required field missing
// or empty, a value or a number of fields past the bounds), or "".
func (w *Worker) malformed(m redis.XMessage) string {
	if len(m.Values) > w.cfg.MaxFields {
		return fmt.Sprintf("%d fields, more than %d", len(m.Values), w.cfg.MaxFields)
	}
	names := make([]string, 0, len(m.Values))
	for k := range m.Values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if n := valueLen(m.Values[k]); n > w.cfg.MaxValueBytes {
			return fmt.Sprintf("field %.64q is %d bytes, more than %d", k, n, w.cfg.MaxValueBytes)
		}
		if len(k) > w.cfg.MaxValueBytes {
			return fmt.Sprintf("a field name is %d bytes, more than %d", len(k), w.cfg.MaxValueBytes)
		}
	}
	for _, f := range w.cfg.Required {
		if v, ok := m.Values[f]; !ok || valueLen(v) == 0 {
			return fmt.Sprintf("no %s", f)
		}
	}
	return ""
}

// valueLen is the length of an entry's value (a string, as go-redis reads
// stream entries).
func valueLen(v any) int {
	if s, ok := v.(string); ok {
		return len(s)
	}
	return len(fmt.Sprint(v))
}

// handle sends one entry, retrying, then acks it or moves it to the dead
// stream; a malformed entry goes there unsent. The send runs under a
// context shutdown does not cancel; the Redis operations that follow it are
// kept from being abandoned by redo.
func (w *Worker) handle(ctx context.Context, m redis.XMessage) error {
	keep := context.WithoutCancel(ctx)
	if len(m.Values) == 0 {
		// The entry was trimmed away while pending: nothing to send.
		w.cfg.Logger.Warn("pending entry no longer in the stream", "entry", m.ID)
		return w.ack(ctx, m.ID)
	}
	if why := w.malformed(m); why != "" {
		w.st.malformed.Add(1)
		w.cfg.Logger.Warn("malformed entry moved to the dead stream, not sent", "entry", m.ID, "why", why, "dead", w.cfg.DeadStream)
		return w.dead(ctx, m, errors.New("malformed entry: "+why), 0)
	}
	sms := toSMS(m)
	for attempt := 1; ; attempt++ {
		err := w.sender.Send(keep, sms)
		if err == nil {
			w.st.sent.Add(1)
			return w.ack(ctx, m.ID)
		}
		w.st.failures.Add(1)
		w.cfg.Logger.Warn("send failed", "entry", m.ID, "attempt", attempt, "err", err)
		if targets.IsPermanent(err) || attempt >= w.cfg.MaxAttempts {
			return w.dead(ctx, m, err, attempt)
		}
		if err := w.cfg.Retry.Sleep(ctx, w.cfg.Retry.Delay(attempt)); err != nil {
			return nil // shutting down: the entry stays pending
		}
	}
}

func (w *Worker) ack(ctx context.Context, id string) error {
	var n int64
	err := w.redo(ctx, "XACK", func(ctx context.Context) error {
		var err error
		n, err = w.rdb.XAck(ctx, w.cfg.Stream, w.cfg.Group, id).Result()
		return err
	})
	if err != nil {
		return fmt.Errorf("worker: XACK %s %s: %w", w.cfg.Stream, id, err)
	}
	w.count(n)
	return nil
}

func (w *Worker) count(n int64) {
	if n == 0 {
		w.st.miss.Add(1)
		return
	}
	w.st.acked.Add(n)
}

// dead copies the entry to the dead stream and acks it in one transaction.
func (w *Worker) dead(ctx context.Context, m redis.XMessage, cause error, attempts int) error {
	vals := make([]any, 0, 2*len(m.Values)+6)
	for k, v := range m.Values {
		vals = append(vals, k, v)
	}
	vals = append(vals, "entry_id", m.ID, "error", cause.Error(), "attempts", strconv.Itoa(attempts))
	var ack *redis.IntCmd
	err := w.redo(ctx, "dead-letter", func(ctx context.Context) error {
		_, err := w.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.XAdd(ctx, &redis.XAddArgs{Stream: w.cfg.DeadStream, Values: vals})
			ack = p.XAck(ctx, w.cfg.Stream, w.cfg.Group, m.ID)
			return nil
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("worker: move %s to %s: %w", m.ID, w.cfg.DeadStream, err)
	}
	w.st.dead.Add(1)
	w.count(ack.Val())
	return nil
}
