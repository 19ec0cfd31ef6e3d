package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"testing"
)

// BenchmarkState measures one refresh of the page's data for each range:
// reading the range's analytics, rankings, titles and model history from
// Redis and the series, as GET /api/dashboard?range= does, including the
// JSON encoding. Run with -benchmem.
func BenchmarkState(b *testing.B) {
	d := served(b, 200000, nil) // 444 hours of plays
	ctx := context.Background()
	for _, c := range []struct {
		r       Range
		buckets int
	}{{RangeDay, 24}, {RangeWeek, 168}, {RangeAll, 18}} {
		b.Run(string(c.r), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				st := d.State(ctx, t0, c.r)
				if len(st.Buckets) != c.buckets || len(st.Errors) > 0 {
					b.Fatalf("%d buckets, want %d; errors %v", len(st.Buckets), c.buckets, st.Errors)
				}
				if err := json.NewEncoder(io.Discard).Encode(st); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
		})
	}
}
