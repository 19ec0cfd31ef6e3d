package metrics

import (
	"context"
)

// maxLogged bounds the malformed stored hours logged one by one per load.
const maxLogged = 10

// load merges the stored history of the sources not loaded yet.
func (m *SourceMonitor) load(ctx context.Context) {
	m.mu.Lock()
	var names []string
	for _, name := range m.order {
		if !m.srcs[name].hist.loaded {
			names = append(names, name)
		}
	}
	m.mu.Unlock()
	if len(names) == 0 {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	stored, err := m.cfg.History.Load(lctx, names)
	cancel()
	var skipped []*HistoryFieldError
	if err != nil {
		if fes, ok := fieldErrors(err); ok {
			skipped, err = fes, nil
		}
	}
	for i, fe := range skipped {
		if i == maxLogged {
			m.cfg.Logger.Warn("source history: more stored hours skipped", "skipped", len(skipped)-maxLogged)
			break
		}
		m.cfg.Logger.Warn("source history: a stored hour is malformed, skipped", "key", fe.Key, "field", fe.Field, "error", fe.Err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if !m.loadErr {
			m.cfg.Logger.Warn("source history not loaded: sources are judged on their recent rate until it is (tried again at each sample)",
				"sources", len(names), "error", err)
		}
		m.loadErr = true
		return
	}
	if m.loadErr {
		m.cfg.Logger.Info("source history loaded", "sources", len(names))
	}
	m.loadErr = false
	for _, name := range names {
		m.srcs[name].hist.merge(stored[name])
	}
}

// save writes the changed history of the sources loaded; what fails is
// kept for the next save. final marks the save at the end of Run.
func (m *SourceMonitor) save(ctx context.Context, final bool) {
	m.mu.Lock()
	var changes []HistoryChange
	for _, name := range m.order {
		w := m.srcs[name]
		if !w.hist.loaded {
			continue
		}
		if c := w.hist.change(name); c != nil {
			changes = append(changes, *c)
		}
	}
	m.mu.Unlock()
	if len(changes) == 0 {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	err := m.cfg.History.Save(sctx, changes)
	cancel()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		for i := range changes {
			m.srcs[changes[i].Source].hist.unsave(&changes[i])
		}
		if !m.saveErr || final {
			m.cfg.Logger.Warn("source history not saved (kept, saved again later)", "sources", len(changes), "final", final, "error", err)
		}
		m.saveErr = true
		return
	}
	m.saveErr = false
}
