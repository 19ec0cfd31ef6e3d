package stream

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// saver saves a runner's checkpoints in order, on its own goroutine, and
// then settles what each covers (its acks, its revocation's done): the
// writer hands them over and goes on writing. A failed save fails the run
// (setErr) and nacks what it covered; later checkpoints are not saved.
type saver struct {
	r    *runner
	ch   chan []cpWrite
	wg   sync.WaitGroup
	err  atomic.Pointer[error]
	once sync.Once
}

// startSaver starts the saver of r's checkpoints (idle without
// Checkpoints: nothing is handed to it).
func (r *runner) startSaver(ctx context.Context) *saver {
	s := &saver{r: r, ch: make(chan []cpWrite, 4)}
	s.wg.Go(func() {
		for cps := range s.ch {
			s.run(ctx, cps)
		}
	})
	return s
}

func (s *saver) run(ctx context.Context, cps []cpWrite) {
	p := s.r.p
	for i := range cps {
		cp := &cps[i]
		err := s.failed()
		if err == nil && cp.cp != nil {
			if serr := s.r.cfg.Checkpoints.Save(ctx, cp.key, cp.cp); serr != nil {
				err = fmt.Errorf("checkpoint %s: %w", cp.key, serr)
				s.err.CompareAndSwap(nil, &err)
				s.r.setErr(err)
			} else {
				if cp.origin != nil {
					cp.origin.Saved(cp.cp.Offset)
				}
				p.stats.checkpoints.Add(1)
				p.stats.lastCheckpoint.Store(cp.cp.SavedAt.UnixNano())
			}
		}
		if aerr := settle(ctx, &outMsg{cps: cps[i : i+1]}, err); aerr != nil && err == nil {
			s.err.CompareAndSwap(nil, &aerr)
			s.r.setErr(aerr)
		}
	}
}

// save hands cps (copied) to the saver; it blocks while 4 batches wait.
func (s *saver) save(ctx context.Context, cps []cpWrite) {
	select {
	case s.ch <- slices.Clone(cps):
	case <-ctx.Done():
		_ = settle(ctx, &outMsg{cps: cps}, ctx.Err())
	}
}

// failed returns the error of a failed save, if any.
func (s *saver) failed() error {
	if e := s.err.Load(); e != nil {
		return *e
	}
	return nil
}

// close waits for the saves handed over and returns the first failure.
func (s *saver) close() error {
	s.once.Do(func() { close(s.ch) })
	s.wg.Wait()
	return s.failed()
}
