package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// signalError is the cause of a run's context when SIGINT or SIGTERM
// cancelled it.
type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string { return "interrupted by " + signalName(e.sig) }

// exitCode is what a shell reports for a process the signal ended: 128
// plus its number (130 for SIGINT, 143 for SIGTERM).
func (e signalError) exitCode() int { return 128 + int(e.sig) }

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// notifySignals returns a context that the first SIGINT or SIGTERM
// cancels, with a signalError as its cause. A second one gets the default
// action: the process ends at once, without draining. stop releases the
// signals.
func notifySignals(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			cancel(signalError{sig: s.(syscall.Signal)})
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// interruption returns the signal that cancelled ctx, if one did.
func interruption(ctx context.Context) (signalError, bool) {
	var se signalError
	ok := errors.As(context.Cause(ctx), &se)
	return se, ok
}

// interruptedError ends a -once run that a signal stopped before the end
// of its input, after a clean drain: the process exits as the signal
// would have ended it (130, 143).
type interruptedError struct{ signalError }

func (e *interruptedError) Error() string {
	return fmt.Sprintf("%s before the end of the input", e.signalError)
}
