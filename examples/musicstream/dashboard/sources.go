package dashboard

import "github.com/rulestream/rulestream/stream/metrics"

// SourcesState is the sources panel: each source of the pipeline (a file
// of a glob, a Kafka partition) with its rate and its state in the
// monitor (ok, silent, never_started, starting, ended).
type SourcesState struct {
	// Wired is false when the dashboard was given no Config.Sources: the
	// panel says so instead of showing an empty list.
	Wired bool `json:"wired"`
	// Sources are as Config.Sources returns them.
	Sources []metrics.SourceStatus `json:"sources"`
	// Silent counts the sources whose state is silent or never_started.
	Silent int `json:"silent"`
}

// sources reads Config.Sources.
func (d *Dashboard) sources() SourcesState {
	ss := SourcesState{Sources: []metrics.SourceStatus{}}
	if d.cfg.Sources == nil {
		return ss
	}
	ss.Wired = true
	if got := d.cfg.Sources(); got != nil {
		ss.Sources = got
	}
	for _, s := range ss.Sources {
		if s.State == metrics.SourceSilent || s.State == metrics.SourceNeverStarted {
			ss.Silent++
		}
	}
	return ss
}
