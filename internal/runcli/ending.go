package runcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rulestream/rulestream/job"
	"github.com/rulestream/rulestream/stream"
)

// Ending is how a pipeline's run ended.
type Ending struct {
	Stopped  bool                  // cancelled before the end of its input
	By       string                // what stopped it: SIGINT, SIGTERM or a cancellation
	Shutdown *stream.ShutdownError // the shutdown did not finish
	Err      error                 // what the run returns
}

// End interprets what a pipeline's Run returned under ctx. A signal's
// clean stop is a success in follow mode and an *InterruptedError under
// -once; a shutdown that did not finish is an error saying what was not
// written (targets gives the targets' counts).
func End(ctx context.Context, err error, once bool, shutdownTimeout time.Duration, targets func() map[string]job.TargetCounts) Ending {
	e := Ending{Err: err, By: "cancellation"}
	sig, signalled := Interruption(ctx)
	if signalled {
		e.By = sig.Name()
	}
	switch {
	case errors.As(err, &e.Shutdown):
		e.Stopped = true
		what := "closing failed"
		if e.Shutdown.TimedOut {
			what = fmt.Sprintf("-shutdown-timeout %s passed", shutdownTimeout)
		}
		e.Err = fmt.Errorf("%s before what was read was processed and written (%s); what was not written is not acknowledged as read, so a restart that reads it again writes it: %w",
			what, UnwrittenText(targets(), e.Shutdown.Unwritten), err)
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		e.Stopped = true
		e.Err = nil // drained, flushed and checkpointed
		if once && signalled {
			e.Err = &InterruptedError{sig}
		}
	}
	return e
}

// UnwrittenText says how many outputs were not written: pending in the
// targets, and dropped before reaching one.
func UnwrittenText(ts map[string]job.TargetCounts, dropped int64) string {
	pending := int64(0)
	for _, t := range ts {
		pending += int64(t.Pending)
	}
	return fmt.Sprintf("%d outputs not written: %d pending in the targets, %d dropped before reaching one", pending+dropped, pending, dropped)
}

// WriteHeadline writes the summary's first line when the run stopped
// before the end of its input (nothing otherwise).
func (e Ending) WriteHeadline(out io.Writer, once bool) {
	switch {
	case e.Stopped && e.Shutdown != nil:
		fmt.Fprintf(out, "interrupted by %s: shutdown not finished, outputs not written (below)\n", e.By)
	case e.Stopped && once:
		fmt.Fprintf(out, "interrupted by %s before the end of the input: what was read is written, the counts are partial\n", e.By)
	case e.Stopped:
		fmt.Fprintf(out, "stopped by %s: what was read is written\n", e.By)
	}
}

// WriteDropped writes the summary's dropped: line when outputs were
// dropped before reaching a target.
func (e Ending) WriteDropped(out io.Writer) {
	if e.Shutdown != nil && e.Shutdown.Unwritten > 0 {
		fmt.Fprintf(out, "dropped: %d outputs (not written: the run stopped before they reached a target)\n", e.Shutdown.Unwritten)
	}
}
