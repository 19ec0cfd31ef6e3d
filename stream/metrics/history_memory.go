package metrics

import (
	"context"
	"maps"
	"sync"
)

// MemoryHistory is a HistoryStore in memory: for tests, and for monitors
// of one process that come and go (a pipeline restarted by its host).
type MemoryHistory struct {
	mu sync.Mutex
	m  map[string]map[int64]HourCount
}

// NewMemoryHistory returns an empty store.
func NewMemoryHistory() *MemoryHistory {
	return &MemoryHistory{m: map[string]map[int64]HourCount{}}
}

// Load returns copies of the stored hours of sources.
func (h *MemoryHistory) Load(_ context.Context, sources []string) (map[string]map[int64]HourCount, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]map[int64]HourCount, len(sources))
	for _, s := range sources {
		if hours, ok := h.m[s]; ok {
			out[s] = maps.Clone(hours)
		}
	}
	return out, nil
}

// Save applies the changes.
func (h *MemoryHistory) Save(_ context.Context, changes []HistoryChange) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range changes {
		hours := h.m[c.Source]
		if hours == nil {
			hours = map[int64]HourCount{}
			h.m[c.Source] = hours
		}
		maps.Copy(hours, c.Set)
		for _, hr := range c.Drop {
			delete(hours, hr)
		}
		if len(hours) == 0 {
			delete(h.m, c.Source)
		}
	}
	return nil
}

// Hours returns a copy of what is stored of source.
func (h *MemoryHistory) Hours(source string) map[int64]HourCount {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.m[source])
}
