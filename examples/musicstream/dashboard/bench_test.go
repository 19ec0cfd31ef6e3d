package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"testing"
)

// BenchmarkState measures one refresh of the page's data: reading 72 hours
// of analytics from Redis and the series, as GET /api/dashboard does,
// including the JSON encoding.
func BenchmarkState(b *testing.B) {
	d := served(b, 200000, nil) // 444 hours of plays; the page shows 72
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		st := d.State(ctx, t0)
		if len(st.Hours) != 72 || len(st.Errors) > 0 {
			b.Fatalf("%d hours, errors %v", len(st.Hours), st.Errors)
		}
		if err := json.NewEncoder(io.Discard).Encode(st); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
}
