package runcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
)

// ExitStatus is the exit status of a run that returned err under ctx
// (NotifySignals'), with the error printed on stderr after prog: 0; 130 or
// 143 for a -once run a signal stopped (InterruptedError: the summary said
// so) or a run a signal stopped before its pipeline started; else 1.
func ExitStatus(ctx context.Context, err error, stderr io.Writer, prog string) int {
	var interrupted *InterruptedError
	switch sig, signalled := Interruption(ctx); {
	case err == nil:
		return 0
	case errors.As(err, &interrupted):
		return interrupted.ExitCode()
	case signalled && errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "%s: %s: %v\n", prog, sig, err)
		return sig.ExitCode()
	}
	fmt.Fprintf(stderr, "%s: %v\n", prog, err)
	return 1
}

// StartCPUProfile starts profiling the CPU into a new file at path; the
// returned function stops it and closes the file.
func StartCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		return nil
	}, nil
}
