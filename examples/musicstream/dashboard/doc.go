// Package dashboard serves the music-stream scenario's live dashboard: one
// page (embedded HTML, CSS and JavaScript of its own, drawing SVG; no CDN, no
// third-party library) that polls a JSON endpoint every two seconds and
// charts
//
//   - plays per hour with the mobile share (analytics, event time),
//   - the top zip codes of the latest day and the top tracks of the latest hour,
//   - plays by customer level, gender and age band over the hours shown,
//   - rule firings per minute, events/s and the watermark lag (processing
//     time, sampled from the pipeline's counters).
//
// New returns a *Dashboard, an http.Handler for "/" (mount it at the root or
// under a path with http.StripPrefix: the page uses relative URLs):
//
//	/                 the page
//	/app.js, /app.css its assets (go:embed)
//	/api/dashboard    the JSON the page polls (State)
//
// The operational series are built from samples of the counters: Run takes
// one every Config.SampleEvery; without Run, each request to /api/dashboard
// takes one when the last is older than SampleEvery.
//
// The page records its own state in the DOM for tests and probes:
// body[data-status] is "ok" after a successful refresh, "error" after a
// failed one; body[data-updates] counts refreshes; body[data-js-errors]
// counts uncaught JavaScript errors (listed in #js-errors);
// body[data-first-render-ms] is when the first data was drawn (the page's
// performance.now()); every chart's
// svg[data-points] is the number of data points it draws.
package dashboard
