package metrics

import "time"

// AlertKind says what happened to a source.
type AlertKind string

// The kinds of Alert (the values of the kind field of queue:alerts).
const (
	// AlertSilence: a source that produced fell below its threshold for a
	// whole Span.
	AlertSilence AlertKind = "silence"
	// AlertRecovered: a silent or never-started source produces again.
	AlertRecovered AlertKind = "recovered"
	// AlertNeverStarted: a source has produced nothing since it became
	// known, for a whole Span.
	AlertNeverStarted AlertKind = "never_started"
)

// Alert is a change of a source's state that someone should hear of: one
// per silence, per source that never started, and per recovery from
// either. Its Redis stream entry (alert.NewRedisStream, queue:alerts) and
// a webhook's JSON body (alert.NewWebhook) carry the same field names,
// the times in UTC with milliseconds; that JSON decodes into an Alert.
type Alert struct {
	// Source names the source: the file path, or topic/partition.
	Source string    `json:"source"`
	Kind   AlertKind `json:"kind"`
	// Observed is the source's rate over the last Span, events/s.
	Observed float64 `json:"observed"`
	// Expected is the rate the threshold was drawn from, events/s: the same
	// hours on earlier days where history exists, else the source's recent
	// rate (0 when there is neither).
	Expected float64 `json:"expected"`
	// Since is when the condition began: a silence at the source's last
	// event (or the start of the Span when it still trickles), a source
	// that never started when it became known; a recovery carries the
	// Since of what it recovers from.
	Since time.Time `json:"since"`
	// At is when the monitor saw it.
	At time.Time `json:"at"`
}

// SourceState is a source's state in the monitor.
type SourceState string

// The states of a source.
const (
	// SourceStarting: known for less than a Span (and the monitor running
	// for less than one): not judged yet, so nothing alerts at start-up.
	SourceStarting SourceState = "starting"
	SourceOK       SourceState = "ok"
	SourceSilent   SourceState = "silent"
	// SourceNeverStarted: no event since it became known, for a Span or
	// more; reported apart from silent ones.
	SourceNeverStarted SourceState = "never_started"
	// SourceEnded: its input ended (a bounded input) or the partition was
	// revoked from this consumer: no longer judged.
	SourceEnded SourceState = "ended"
)

// SourceStatus is one source as the monitor sees it (SourceMonitor.Status):
// what a sources panel shows.
type SourceStatus struct {
	Source string      `json:"source"`
	State  SourceState `json:"state"`
	// Rate is the source's rate over the last Span (over what was watched,
	// while starting), events/s.
	Rate float64 `json:"rate"`
	// Expected is the rate the threshold is drawn from now, events/s (0:
	// no reference yet); Basis says from what: "history" (the same hours on
	// earlier days) or "recent" (the source's rate before the Span).
	Expected float64 `json:"expected"`
	Basis    string  `json:"basis,omitempty"`
	// Since is when the state began.
	Since time.Time `json:"since"`
	// Events counts the events read from the source since the run started.
	Events int64 `json:"events"`
	// LastEvent is the processing time of its latest batch (zero: none).
	LastEvent time.Time `json:"last_event,omitzero"`
}
