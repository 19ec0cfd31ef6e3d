package metrics

import (
	"sort"
	"time"

	"github.com/rulestream/rulestream/stream"
)

// judge takes a sample of source w's counter at now and moves its state:
// it returns the alert of a change worth one.
func (m *SourceMonitor) judge(w *watched, st stream.SourceStat, now time.Time) (Alert, bool) {
	span := m.cfg.Span
	if n := len(w.samples); n > 0 {
		prev := w.samples[n-1]
		if !now.After(prev.at) {
			return Alert{}, false // sampled already
		}
		delta := st.Events - prev.n
		if delta < 0 { // the counts started again
			w.samples, w.first, delta = w.samples[:0], now, 0
		}
		w.hist.add(prev.at, now, delta, w.state != SourceEnded && !st.Done)
		if delta > 0 {
			w.grewAt = now
		}
	}
	w.samples = append(w.samples, sample{at: now, n: st.Events})
	w.samples = trimSamples(w.samples, now.Add(-span-m.cfg.Recent))
	w.events, w.last = st.Events, st.Last
	w.hist.trim(now, m.cfg.Days)

	if st.Done {
		if w.state != SourceEnded {
			w.state, w.since = SourceEnded, now
		}
		w.rate, w.expected, w.basis = 0, 0, ""
		return Alert{}, false
	}
	if w.state == SourceEnded { // assigned again: watched afresh
		w.state, w.since, w.first = SourceStarting, now, now
		w.samples = append(w.samples[:0], sample{at: now, n: st.Events})
	}
	if now.Sub(w.first) < span {
		w.rate, w.expected, w.basis = 0, 0, ""
		if d := now.Sub(w.first); d > 0 {
			w.rate = float64(st.Events-w.samples[0].n) / d.Seconds()
		}
		return Alert{}, false // not judged before a whole Span was watched
	}

	// What it produced over the Span: from the latest sample at or before
	// its start.
	ref := sampleAt(w.samples, now.Add(-span))
	obs := st.Events - ref.n
	w.rate = float64(obs) / now.Sub(ref.at).Seconds()
	observed := w.rate * span.Seconds()
	// What it is expected to produce: the same hours on earlier days, else
	// its rate over Recent before the Span.
	exp, basis := 0.0, ""
	if e, ok := w.hist.expected(now.Add(-span), now, m.cfg.Days); ok {
		exp, basis = e, "history"
	} else if from := sampleAt(w.samples, ref.at.Add(-m.cfg.Recent)); ref.at.Sub(from.at) >= span {
		exp, basis = float64(ref.n-from.n)/ref.at.Sub(from.at).Seconds()*span.Seconds(), "recent"
	}
	w.expected, w.basis = exp/span.Seconds(), basis

	at := now.UTC()
	alert := func(kind AlertKind, expected float64, since time.Time) (Alert, bool) {
		return Alert{Source: w.name, Kind: kind, Observed: w.rate, Expected: expected, Since: since.UTC(), At: at}, true
	}
	switch {
	case st.Events == 0:
		if w.state != SourceNeverStarted {
			since := w.first
			if r := st.Registered; !r.IsZero() && r.Before(since) {
				since = r // known to the pipeline before the monitor's first sample
			}
			w.state, w.since = SourceNeverStarted, since
			return alert(AlertNeverStarted, w.expected, w.since)
		}
	case w.state == SourceNeverStarted:
		since := w.since
		w.state, w.since = SourceOK, now
		return alert(AlertRecovered, w.expected, since)
	case w.state == SourceSilent:
		// Back at Fraction of what is expected now, or without history of
		// what it was expected to produce before the silence.
		need := w.ref
		if basis == "history" {
			need = w.expected
		}
		if obs > 0 && observed >= m.cfg.Fraction*need*span.Seconds() {
			since := w.since
			w.state, w.since = SourceOK, now
			return alert(AlertRecovered, need, since)
		}
	default:
		if basis != "" && exp >= m.cfg.MinExpected && observed < m.cfg.Fraction*exp {
			since := now.Add(-span)
			if obs == 0 {
				since = w.grewAt
			}
			w.state, w.since, w.ref = SourceSilent, since, w.expected
			return alert(AlertSilence, w.ref, since)
		}
		if w.state == SourceStarting {
			w.state, w.since = SourceOK, now
		}
	}
	return Alert{}, false
}

// atOrBefore returns the index of the latest sample at or before t, or 0.
func atOrBefore(ss []sample, t time.Time) int {
	i := sort.Search(len(ss), func(i int) bool { return ss[i].at.After(t) })
	return max(i-1, 0)
}

// sampleAt returns the latest sample at or before t, or the first.
func sampleAt(ss []sample, t time.Time) sample { return ss[atOrBefore(ss, t)] }

// trimSamples drops the samples before the latest one at or before t. It
// reslices: append moves the rest to a new array when it runs out.
func trimSamples(ss []sample, t time.Time) []sample { return ss[atOrBefore(ss, t):] }
