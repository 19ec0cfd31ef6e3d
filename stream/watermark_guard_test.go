package stream

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// guarded returns a one-partition tracker with the default outlier guard
// (1h, 8 events) and the given bound.
func guarded(bound time.Duration) *WatermarkTracker {
	w := NewWatermarkTracker(bound, 0)
	w.SetOutlierGuard(time.Hour, 8)
	return w
}

var (
	gNow  = time.Unix(0, 0)
	gPart = PartitionID{0, 0}
	g2014 = time.Date(2014, 10, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	g2030 = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
)

func TestGuardSingleOutlierDoesNotMoveTheWatermark(t *testing.T) {
	w := guarded(time.Minute)
	for i := range 10 {
		require.False(t, w.Observe(gPart, g2014+int64(i)*int64(time.Second), gNow))
	}
	before := w.Watermark()
	require.Equal(t, g2014+9*int64(time.Second)-int64(time.Minute), before)
	require.True(t, w.Observe(gPart, g2030, gNow), "the 2030 event is held out")
	require.Equal(t, before, w.Watermark())
	require.Equal(t, OutlierCounts{Held: 1}, w.OutlierCounts())
	// The data goes on: it moves the watermark, and the held event is an
	// outlier.
	require.False(t, w.Observe(gPart, g2014+10*int64(time.Second), gNow))
	require.Equal(t, g2014+10*int64(time.Second)-int64(time.Minute), w.Watermark())
	require.Equal(t, OutlierCounts{Held: 1, Outliers: 1}, w.OutlierCounts())
	require.Equal(t, g2014+10*int64(time.Second), w.PartitionMax(gPart))
	require.Equal(t, g2014+10*int64(time.Second), w.MaxClock())
}

// Both sides of the confirmation: 7 events in a row beyond the clock do not
// move it, the 8th does, to the lower median of the 8; the run's events
// near the new clock move it on.
func TestGuardJumpConfirmedAfterConfirmEvents(t *testing.T) {
	for _, n := range []int{7, 8} {
		w := guarded(0)
		w.Observe(gPart, g2014, gNow)
		w.Observe(gPart, g2014+1, gNow)
		next := g2014 + int64(24*time.Hour) // the data resumes a day later
		for i := range n {
			require.True(t, w.Observe(gPart, next+int64(i)*int64(time.Minute), gNow), "event %d of the run is held", i)
		}
		if n == 7 {
			require.Equal(t, g2014+1, w.Watermark(), "7 in a row: not yet")
			require.Equal(t, OutlierCounts{Held: 7}, w.OutlierCounts())
			continue
		}
		// The lower median is the 4th; the others are within 1h of it.
		require.Equal(t, next+7*int64(time.Minute), w.Watermark(), "8 in a row: the data moved")
		require.Equal(t, OutlierCounts{Held: 8, Jumps: 1}, w.OutlierCounts())
	}
}

// A run of 8 holding one far outlier: the clock follows the 7 real ones;
// the outlier is held again, and dropped by the next event.
func TestGuardJumpWithAnOutlierInside(t *testing.T) {
	w := guarded(0)
	w.Observe(gPart, g2014, gNow)
	w.Observe(gPart, g2014+1, gNow)
	next := g2014 + int64(24*time.Hour)
	times := []int64{next, next + 1, g2030, next + 2, next + 3, next + 4, next + 5, next + 6}
	for _, ts := range times {
		w.Observe(gPart, ts, gNow)
	}
	require.Equal(t, next+6, w.Watermark())
	w.Observe(gPart, next+7, gNow)
	require.Equal(t, next+7, w.Watermark())
	require.Equal(t, OutlierCounts{Held: 8, Outliers: 1, Jumps: 1}, w.OutlierCounts())
}

// A replay of an older period is not an outlier problem: events behind the
// clock never move it (they are late), whatever their number.
func TestGuardOldEventsNeverMoveTheClock(t *testing.T) {
	w := guarded(0)
	w.Observe(gPart, g2014, gNow)
	w.Observe(gPart, g2014+1, gNow)
	for i := range 100 {
		require.False(t, w.Observe(gPart, g2014-int64(365*24*time.Hour)+int64(i), gNow))
	}
	require.Equal(t, g2014+1, w.Watermark())
}

// Before the data: a first event far from the rest does not start the
// clock; the first event another one supports does.
func TestGuardFirstEventOutlier(t *testing.T) {
	w := guarded(0)
	require.False(t, w.Observe(gPart, g2030, gNow), "before the clock starts nothing is held")
	require.Equal(t, MinWatermark, w.Watermark())
	w.Observe(gPart, g2014, gNow)
	require.Equal(t, MinWatermark, w.Watermark(), "two events far apart: neither supported")
	w.Observe(gPart, g2014+5, gNow)
	require.Equal(t, g2014+5, w.Watermark())
	require.Equal(t, int64(1), w.OutlierCounts().Outliers)
	// A partition whose first events are all more than 1h apart starts at
	// their lower median after 8.
	w = guarded(0)
	for i := range 8 {
		w.Observe(gPart, g2014+int64(i)*int64(2*time.Hour), gNow)
	}
	require.Equal(t, g2014+int64(3)*int64(2*time.Hour), w.PartitionMax(gPart))
}

func TestGuardRestoredClockNeedsNoSupport(t *testing.T) {
	w := guarded(0)
	w.SetPartitionMax(gPart, g2014, gNow)
	require.Equal(t, g2014, w.Watermark())
	require.True(t, w.Observe(gPart, g2030, gNow))
	require.Equal(t, g2014, w.Watermark())
}

func TestGuardDisabled(t *testing.T) {
	w := NewWatermarkTracker(0, 0)
	w.SetOutlierGuard(0, 8)
	w.Observe(gPart, g2014, gNow)
	require.False(t, w.Observe(gPart, g2030, gNow))
	require.Equal(t, g2030, w.Watermark(), "no guard: every event moves the clock")
}

// decisions runs times through a tracker as the runner does (lateness
// judged against the watermark just before each event) and returns, per
// event, the watermark it was judged against and whether it was late.
func decisions(w *WatermarkTracker, times []int64, allowed int64) (wms []int64, late []bool) {
	for _, ts := range times {
		wm := w.Watermark()
		wms = append(wms, wm)
		late = append(late, wm != MinWatermark && ts < wm-allowed)
		w.Observe(gPart, ts, gNow)
	}
	return wms, late
}

// checkOutlierChangesNothing inserts one event at time outlier at position
// at of data and checks that every other event is judged as without it.
func checkOutlierChangesNothing(t *testing.T, data []int64, at int, outlier int64, bound, allowed time.Duration) {
	t.Helper()
	wms, late := decisions(guarded(bound), data, int64(allowed))
	with := append(append(append([]int64{}, data[:at]...), outlier), data[at:]...)
	wms2, late2 := decisions(guarded(bound), with, int64(allowed))
	wms2 = append(wms2[:at], wms2[at+1:]...)
	late2 = append(late2[:at], late2[at+1:]...)
	require.Equal(t, wms, wms2, "outlier %d at %d: the watermarks the other events met", outlier, at)
	require.Equal(t, late, late2, "outlier %d at %d: the other events' lateness", outlier, at)
}

// guardData returns n event times advancing by up to 10 minutes (under the
// guard's 1h), each delayed in arrival by up to maxDelay.
func guardData(r *rand.Rand, n int, maxDelay time.Duration) []int64 {
	out := make([]int64, n)
	t := g2014
	for i := range out {
		t += r.Int64N(int64(10 * time.Minute))
		out[i] = t
	}
	// Disorder: swap neighbours within maxDelay.
	for i := 1; i < n; i++ {
		if r.IntN(3) == 0 && out[i]-out[i-1] <= int64(maxDelay) {
			out[i], out[i-1] = out[i-1], out[i]
		}
	}
	return out
}

// The property of the issue: a single outlier (years ahead, or behind)
// changes no decision about the other events, wherever it lands.
func TestGuardOutlierChangesNoOtherDecision(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for range 200 {
		data := guardData(r, 2+r.IntN(60), time.Duration(r.Int64N(int64(20*time.Minute))))
		outlier := data[0] + int64(time.Hour) + 1 + r.Int64N(int64(1<<62)-data[0]-int64(time.Hour)-1)
		if r.IntN(4) == 0 {
			outlier = data[0] - int64(time.Hour) - r.Int64N(int64(1<<62))
		}
		checkOutlierChangesNothing(t, data, r.IntN(len(data)+1), outlier, time.Duration(r.Int64N(int64(5*time.Minute))), time.Duration(r.Int64N(int64(time.Minute))))
	}
}

func FuzzWatermarkOutlier(f *testing.F) {
	f.Add(uint64(1), uint8(20), uint8(3), int64(1<<60), uint32(60), uint32(0))
	f.Add(uint64(2), uint8(2), uint8(0), int64(-1<<60), uint32(0), uint32(0))
	f.Add(uint64(3), uint8(9), uint8(9), int64(1<<62), uint32(300), uint32(30))
	f.Fuzz(func(t *testing.T, seed uint64, n, at uint8, outlier int64, boundS, allowedS uint32) {
		r := rand.New(rand.NewPCG(seed, 1))
		data := guardData(r, 2+int(n)%100, time.Duration(r.Int64N(int64(20*time.Minute))))
		lo, hi := data[0], data[0]
		for _, ts := range data {
			lo, hi = min(lo, ts), max(hi, ts)
		}
		// An outlier: more than 1h beyond every event, or behind them all
		// by more than the bound and lateness (so it is late).
		bound, allowed := time.Duration(boundS%3600)*time.Second, time.Duration(allowedS%3600)*time.Second
		if (outlier <= hi || outlier-hi <= int64(time.Hour)) && (outlier >= lo || lo-outlier <= int64(bound+allowed)+int64(time.Hour)) {
			t.Skip()
		}
		checkOutlierChangesNothing(t, data, int(at)%(len(data)+1), outlier, bound, allowed)
	})
}

// The scenario through a pipeline: one future-dated event in the
// middle of ordered data; nothing is late, the watermark never reaches it
// before the end, and it is counted.
func TestPipelineFutureEventIsNotPoison(t *testing.T) {
	times := make([]int64, 0, 201)
	for i := range 200 {
		times = append(times, g2014+int64(i)*int64(time.Second))
	}
	times = append(times[:100], append([]int64{g2030}, times[100:]...)...)
	arrival := timedEvents(times)
	rec, out, late, st := runOnePerBatch(t, arrival, Config{OutOfOrderness: time.Minute, MaxAhead: time.Hour})
	require.Equal(t, 0, late.Len(), "no event is late")
	require.Equal(t, 201, out.Len(), "the future event is processed too")
	require.Equal(t, int64(1), st.Ahead)
	require.Equal(t, int64(1), st.Outliers)
	for _, wm := range rec.wms[:len(rec.wms)-1] {
		require.Less(t, wm, g2014+int64(200*time.Second), "the watermark followed the data, not 2030")
	}
	// Without the guard, the same input loses the 100 events after it.
	_, _, late, _ = runOnePerBatch(t, arrival, Config{OutOfOrderness: time.Minute, MaxAhead: -1})
	require.Equal(t, 100, late.Len())
}
