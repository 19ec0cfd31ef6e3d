package enrich

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// batch is a set of HSET commands written in one pipelined round trip. The
// arguments of all its commands share one backing array, and the keys and
// values are passed as pointers into one string array: boxing a pointer
// does not allocate, boxing a string does.
type batch struct {
	cmds [][]any
	args []any
	strs []string
}

// add appends HSET key field value...; fields are boxed once per table.
func (b *batch) add(key string, fields []any, vals []string) {
	rows := max(cap(b.cmds), 1)
	n := 2 + 2*len(fields)
	if cap(b.args)-len(b.args) < n {
		b.args = make([]any, 0, n*rows)
	}
	if cap(b.strs)-len(b.strs) < 1+len(vals) {
		b.strs = make([]string, 0, (1+len(vals))*rows) // earlier rows keep the old array
	}
	k := len(b.strs)
	b.strs = append(b.strs, key)
	b.strs = append(b.strs, vals...)
	start := len(b.args)
	b.args = append(b.args, "hset", &b.strs[k])
	for i, f := range fields {
		b.args = append(b.args, f, &b.strs[k+1+i])
	}
	b.cmds = append(b.cmds, b.args[start:len(b.args):len(b.args)])
}

// writer writes batches with up to inFlight pipelines at once. It records
// the first error and then stops taking batches.
type writer struct {
	ctx    context.Context
	cancel context.CancelFunc
	client redis.UniversalClient
	ch     chan *batch
	wg     sync.WaitGroup
	loaded atomic.Int64
	mu     sync.Mutex
	err    error
}

func newWriter(ctx context.Context, client redis.UniversalClient, inFlight int) *writer {
	ctx, cancel := context.WithCancel(ctx)
	w := &writer{ctx: ctx, cancel: cancel, client: client, ch: make(chan *batch, inFlight)}
	for range inFlight {
		w.wg.Add(1)
		go w.loop()
	}
	return w
}

func (w *writer) newBatch(size int) *batch { return &batch{cmds: make([][]any, 0, size)} }

func (w *writer) loop() {
	defer w.wg.Done()
	for b := range w.ch {
		if w.ctx.Err() != nil {
			continue
		}
		if err := w.write(b); err != nil {
			w.fail(err)
		}
	}
}

func (w *writer) write(b *batch) error {
	pipe := w.client.Pipeline()
	for _, args := range b.cmds {
		pipe.Do(w.ctx, args...)
	}
	cmds, err := pipe.Exec(w.ctx)
	if err != nil {
		for _, c := range cmds {
			if c.Err() != nil {
				return c.Err()
			}
		}
		return err
	}
	w.loaded.Add(int64(len(b.cmds)))
	return nil
}

func (w *writer) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.mu.Unlock()
	w.cancel()
}

// send queues b; it blocks while inFlight batches are being written.
func (w *writer) send(b *batch) error {
	if len(b.cmds) == 0 {
		return nil
	}
	select {
	case w.ch <- b:
		return nil
	case <-w.ctx.Done():
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.err != nil {
			return w.err
		}
		return w.ctx.Err()
	}
}

// close waits for the queued batches and returns the rows written.
func (w *writer) close() (int64, error) {
	close(w.ch)
	w.wg.Wait()
	w.cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.loaded.Load(), w.err
}
