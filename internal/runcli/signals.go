// Package runcli is what the command-line binaries (cmd/rulestream,
// examples/musicstream) share about a run's life: SIGINT and SIGTERM, the
// exit status, how a pipeline's run ended and the summary lines that say
// so, and -cpuprofile.
package runcli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// SignalError is the cause of a run's context when SIGINT or SIGTERM
// cancelled it.
type SignalError struct{ Sig syscall.Signal }

func (e SignalError) Error() string { return "interrupted by " + e.Name() }

// ExitCode is what a shell reports for a process the signal ended: 128
// plus its number (130 for SIGINT, 143 for SIGTERM).
func (e SignalError) ExitCode() int { return 128 + int(e.Sig) }

// Name is SIGINT, SIGTERM, or the signal's description.
func (e SignalError) Name() string {
	switch e.Sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return e.Sig.String()
}

// NotifySignals returns a context that the first SIGINT or SIGTERM
// cancels, with a SignalError as its cause. A second one gets the default
// action: the process ends at once, without draining. stop releases the
// signals.
func NotifySignals(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			cancel(SignalError{Sig: s.(syscall.Signal)})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// Interruption returns the signal that cancelled ctx, if one did.
func Interruption(ctx context.Context) (SignalError, bool) {
	var se SignalError
	ok := errors.As(context.Cause(ctx), &se)
	return se, ok
}

// InterruptedError ends a -once run that a signal stopped before the end
// of its input, after a clean drain: the process exits as the signal
// would have ended it (130, 143).
type InterruptedError struct{ SignalError }

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("%s before the end of the input", e.SignalError)
}
