package stream

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// ShutdownError is returned by Run when ctx was cancelled and the shutdown
// did not complete: ShutdownTimeout passed before the events in flight were
// drained, the sinks flushed and the last checkpoints saved (TimedOut), or
// closing a source or sink failed. Output may then be unwritten: what the
// sinks still hold (they count it, e.g. targets.RedisSink.Pending) and
// Unwritten more that never reached them. The input it came from was not
// acknowledged and no checkpoint covers it, so a restart that reads the
// input again from the last checkpoint produces it again.
//
// It deliberately does not unwrap to context.Canceled: a caller that takes
// cancellation for a clean stop must not take an unfinished one for it. Err
// holds what failed, for inspection.
type ShutdownError struct {
	// Timeout is the Config.ShutdownTimeout that bounded the shutdown.
	Timeout time.Duration
	// TimedOut is true when the timeout cut the drain short.
	TimedOut bool
	// Unwritten counts the outputs (events for the sinks, dead letters and
	// late events for their sinks) the runner dropped without handing them
	// to a sink, after a write failed or the timeout passed. What the sinks
	// were handed but did not write is theirs to count. A batch whose
	// write failed half-way is not counted: its sinks hold what they took.
	Unwritten int64
	// Err is what failed: the operation the timeout interrupted, and the
	// errors of closing.
	Err error
}

func (e *ShutdownError) Error() string {
	what := "closing failed"
	if e.TimedOut {
		what = fmt.Sprintf("not finished within the shutdown timeout (%s)", e.Timeout)
	}
	msg := "stream: shutdown " + what
	if e.Unwritten > 0 {
		msg += fmt.Sprintf(", %d outputs dropped unwritten", e.Unwritten)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// shutdownTimer bounds one Run's shutdown. Armed when the caller cancels,
// it cuts the work short once the timeout has passed; closing the sources
// and sinks gets what is left of the same budget.
type shutdownTimer struct {
	timeout time.Duration
	cutWork func()

	mu       sync.Mutex
	deadline time.Time // zero until armed
	timer    *time.Timer
	stopped  bool
}

// arm starts the countdown (the caller cancelled).
func (s *shutdownTimer) arm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.timer != nil {
		return
	}
	s.deadline = time.Now().Add(s.timeout)
	s.timer = time.AfterFunc(s.timeout, s.cutWork)
}

// stop disarms the timer once the work has ended; it reports whether the
// timer had cut it.
func (s *shutdownTimer) stop() (cut bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = true
	return s.timer != nil && !s.timer.Stop()
}

// closeContext bounds closing: by what is left of the shutdown budget once
// armed, else by a whole timeout.
func (s *shutdownTimer) closeContext(ctx context.Context) (context.Context, context.CancelFunc) {
	s.mu.Lock()
	deadline := s.deadline
	s.mu.Unlock()
	if deadline.IsZero() {
		return context.WithTimeout(ctx, s.timeout)
	}
	return context.WithDeadline(ctx, deadline)
}

// readsUninterruptibly reports whether src is a FileSource over stdin or
// an io.Reader (NewReaderSource): its Read may block in a read that no
// cancellation interrupts (a pipe with nothing to read), and its Close does
// nothing, so the runner neither waits for its reader nor needs to.
func readsUninterruptibly(src Source) bool {
	fs, ok := src.(*FileSource)
	return ok && (fs.path == "-" || fs.path == "")
}
