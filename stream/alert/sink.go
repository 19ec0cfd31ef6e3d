package alert

import (
	"context"
	"errors"

	"github.com/rulestream/rulestream/stream/metrics"
)

// Sink delivers one alert. An error wrapped by Permanent is not retried.
// Send must return when ctx ends (the Outbox bounds each call with
// OutboxConfig.Timeout).
type Sink interface {
	// Name names the sink in Stats, metrics and logs: unique in an Outbox.
	Name() string
	Send(ctx context.Context, a metrics.Alert) error
}

// PermanentError marks an error that retrying cannot fix (a 4xx reply, a
// key of the wrong type): the Outbox drops the alert and counts it failed.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the Outbox does not retry it; nil stays nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err is marked permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
