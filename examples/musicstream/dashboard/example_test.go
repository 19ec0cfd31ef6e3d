package dashboard_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/redis/go-redis/v9"
	"github.com/rulestream/rulestream/examples/musicstream/dashboard"
	"github.com/rulestream/rulestream/stream"
)

// Mount the dashboard at the root of a mux beside /healthz and /metrics.
// The page and its assets come from the binary; only /api/dashboard reads
// Redis.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	p := stream.New("musicstream", stream.Config{})
	d, err := dashboard.New(dashboard.Config{Redis: rdb, Pipeline: p})
	if err != nil {
		fmt.Println(err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle("/", d)
	for _, path := range []string{"/", "/app.js", "/charts.js", "/app.css"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, rec.Code, rec.Header().Get("Content-Type"))
	}
	// Output:
	// / 200 text/html; charset=utf-8
	// /app.js 200 text/javascript; charset=utf-8
	// /charts.js 200 text/javascript; charset=utf-8
	// /app.css 200 text/css; charset=utf-8
}
