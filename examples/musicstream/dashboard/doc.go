// Package dashboard serves the music-stream scenario's live dashboard and a
// page per customer: embedded HTML, CSS and JavaScript of their own,
// drawing SVG (no CDN, no third-party library).
//
// The dashboard polls a JSON endpoint every two seconds and shows, over a
// time range the user picks (last hour, 24 h, 7 days, all; Range):
//
//   - plays per hour (per day for all) with the mobile share (analytics,
//     event time, ending with the newest hour written),
//   - the top zip codes and tracks of the range, tracks by title and
//     artist (the reference data's track:<id>),
//   - plays by customer level, gender and age band,
//   - the ad model's held-out error per training attempt with the publish
//     threshold (model:ads:history, written by examples/adsmodel;
//     processing time, ending now),
//   - a sources panel: each source's rate, expected rate and state
//     (Config.Sources, e.g. a metrics.SourceMonitor's Status),
//   - rule firings per minute, events/s and the watermark lag (processing
//     time, sampled from the pipeline's counters).
//
// The customer page shows a customer's record, recent plays (what, when,
// from which zip code, on which device; recorded by Recorder), their
// interest list and their entries in queue:ads and queue:sms. Every list is
// paged, and the shared queues are searched a bounded number of entries
// per request.
//
// New returns a *Dashboard, an http.Handler for "/" (mount it at the root or
// under a path with http.StripPrefix: the pages use relative URLs):
//
//	/                            the dashboard
//	/customer/<id>               the customer page (404 for an unknown customer)
//	/app.js, /charts.js, ...     the assets (go:embed)
//	/api/dashboard?range=        the JSON the dashboard polls (State)
//	/api/customer/<id>           the customer page's JSON (CustomerState)
//	/api/customer/<id>/<section> further pages: plays, interest, ads, sms (Section)
//
// The operational series are built from samples of the counters: Run takes
// one every Config.SampleEvery; without Run, each request to /api/dashboard
// takes one when the last is older than SampleEvery.
//
// The pages record their state in the DOM for tests and probes:
// body[data-status] is "ok" after a successful refresh, "error" after a
// failed one; body[data-updates] counts refreshes; body[data-range] is the
// range drawn; body[data-js-errors] counts uncaught JavaScript errors
// (listed in #js-errors); body[data-first-render-ms] is when the first
// data was drawn (the page's performance.now()); every chart's
// svg[data-points] is the number of data points it draws, every table's
// data-rows its rows.
package dashboard
