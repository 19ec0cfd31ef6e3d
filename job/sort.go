package job

import (
	"fmt"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// SortPays reports whether a bounded input of this job is better sorted by
// event time before it is processed (stream.SortByTime): the lateness is
// an hour or more (a history whose disorder it covers) and the job holds
// events or windows until the watermark passes them (dedup, the event-time
// order, windows). Without the sort such a run buffers its whole input in
// the operators until its end; with it, the operators see the events in
// order and release them at once, and the sort holds ~70 bytes per event
// up to its budget, spilling to disk beyond. The results are the same:
// the arrival order is judged first, as the pipeline would judge it.
func (j *Job) SortPays(lateness time.Duration) bool {
	p := j.Plan()
	return lateness >= time.Hour && (p.Dedup || p.Order || len(p.Windows) > 0)
}

// SortMode decides from a -sort flag (auto, on or off) whether to sort a
// bounded input, or says why the value is wrong.
func (j *Job) SortMode(mode string, lateness time.Duration) (bool, error) {
	switch mode {
	case "auto":
		return j.SortPays(lateness), nil
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("-sort must be auto, on or off, not %q", mode)
}

// SortInput returns bounded sources sorted by event time under the job's
// event-time settings (lateness as given, max_ahead), with budget bytes in
// memory (0: the default) and runs spilled to dir ("" : the system's
// temporary directory). A pipeline over it takes SortedPipeline's config.
func (j *Job) SortInput(srcs []stream.Source, lateness time.Duration, budget int64, dir string) (*stream.SortedSource, error) {
	return stream.SortByTime(srcs, stream.SortConfig{OutOfOrderness: lateness, MaxAhead: j.StreamMaxAhead(), Budget: budget, Dir: dir})
}

// SortedPipeline adapts a pipeline's config to a sorted input: no
// out-of-orderness and no outlier guard (the sort judged the arrival
// order with both).
func SortedPipeline(cfg stream.Config) stream.Config {
	cfg.OutOfOrderness, cfg.MaxAhead = 0, -1
	return cfg
}
