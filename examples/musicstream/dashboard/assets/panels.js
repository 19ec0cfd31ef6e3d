// The dashboard's model chart and sources panel (drawn by app.js on every
// refresh).
var dashboard = (function () {
  "use strict";
  var COLORS = rs.COLORS;
  var SPANS = { "1h": 3600e3, "24h": 24 * 3600e3, "7d": 7 * 24 * 3600e3 };
  var OUTCOME = { published: COLORS[2], refused: COLORS[1], failed: COLORS[3] };
  function byId(id) { return document.getElementById(id); }
  function num(v, digits) { return v === null || v === undefined ? "–" : v.toFixed(digits); }

  // model draws each training attempt's held-out error (a dot coloured by
  // outcome; a failed attempt, without error, a cross on the axis) and the
  // publish threshold in force at each attempt (a dashed step line).
  function model(st) {
    var m = st.model, svg = byId("chart-model"), at = m.attempts || [];
    var live = m.live ? "live model v" + m.live.version + ": error " + num(m.live.testError, 4) + " (threshold " +
      num(m.live.threshold, 4) + "), trained " + rs.utc(Date.parse(m.live.trainedAt)) + " UTC" : "no model published";
    byId("model-live").textContent = live;
    rs.clear(svg);
    if (!at.length) { rs.empty(svg, "no training attempt in this range (examples/adsmodel -every appends them)"); return; }
    var s = rs.size(svg), L = 56, R = 14, T = 10, B = 22, w = s.w - L - R, h = s.h - T - B;
    var t1 = Date.parse(st.time), t0 = t1 - (SPANS[st.range.name] || 0);
    if (!SPANS[st.range.name]) {
      t0 = at[0].t;
      t1 = Math.max(at[at.length - 1].t, t0 + 1);
    }
    var top = 0;
    at.forEach(function (a) { top = Math.max(top, a.threshold, a.error === null ? 0 : a.error); });
    var max = Math.max(0.05, Math.ceil(top * 1.15 * 20) / 20); // a multiple of 0.05 above them all
    function x(t) { return (L + w * (t - t0) / (t1 - t0)).toFixed(1); }
    function y(v) { return (T + h - h * v / max).toFixed(1); }
    rs.axes(svg, L, T, w, h, max, function (v) { return v.toFixed(3); });
    svg.appendChild(rs.el("text", { x: L, y: s.h - 4 }, rs.utc(t0)));
    svg.appendChild(rs.el("text", { x: L + w, y: s.h - 4, "text-anchor": "end" }, rs.utc(t1)));
    var steps = [];
    at.forEach(function (a, i) {
      var end = i + 1 < at.length ? at[i + 1].t : t1;
      steps.push(x(a.t) + "," + y(a.threshold), x(end) + "," + y(a.threshold));
    });
    svg.appendChild(rs.el("polyline", { points: steps.join(" "), fill: "none", stroke: COLORS[3], "stroke-width": 1.5,
      "stroke-dasharray": "6 4", "class": "threshold" }));
    var trained = at.filter(function (a) { return a.error !== null; });
    if (trained.length > 1) {
      svg.appendChild(rs.el("polyline", { points: trained.map(function (a) { return x(a.t) + "," + y(a.error); }).join(" "),
        fill: "none", stroke: COLORS[0], "stroke-width": 2 }));
    }
    at.forEach(function (a) {
      var tip = rs.utc(a.t) + " UTC · " + a.outcome + (a.version ? " v" + a.version : "") + " · error " + num(a.error, 4) +
        " (threshold " + num(a.threshold, 4) + ") · " + a.rows + " rows" + (a.reason ? " · " + a.reason : "");
      var mark = a.error === null ?
        rs.el("text", { x: x(a.t), y: T + h + 4, "text-anchor": "middle", "class": "failed", fill: OUTCOME.failed }, "×") :
        rs.el("circle", { cx: x(a.t), cy: y(a.error), r: 4, fill: OUTCOME[a.outcome] || COLORS[0] });
      mark.dataset.outcome = a.outcome;
      mark.appendChild(rs.el("title", {}, tip));
      svg.appendChild(mark);
    });
    svg.dataset.points = String(at.length);
    svg.dataset.threshold = String(at[at.length - 1].threshold);
  }

  function rate(v) { return v < 10 ? v.toFixed(2) : rs.fmt(v); }
  // ago says how long before now (ISO times) t was, with t itself.
  function ago(t, now) {
    if (!t || t.indexOf("0001-") === 0) { return "–"; }
    var s = Math.max(0, (Date.parse(now) - Date.parse(t)) / 1000), d;
    if (s >= 86400) { d = (s / 86400).toFixed(1) + " d"; } else if (s >= 3600) { d = (s / 3600).toFixed(1) + " h"; } else if (s >= 60) { d = Math.round(s / 60) + " min"; } else { d = Math.round(s) + " s"; }
    return d + " ago (" + rs.utc(Date.parse(t)).substr(5) + ")";
  }

  // sources fills the sources table: one row per source, its state marked.
  function sources(st) {
    var ss = st.sources, tb = byId("sources").tBodies[0], note = byId("sources-note");
    document.body.dataset.sources = ss.wired ? String(ss.sources.length) : "unwired";
    if (!ss.wired) {
      byId("sources-summary").textContent = "· not wired";
      note.textContent = "No source monitor is wired (dashboard.Config.Sources is nil): per-source rates and silence are not shown here.";
      rs.rows(tb, [], null, "not wired");
      return;
    }
    byId("sources-summary").textContent = "· " + ss.sources.length + " sources, " + ss.silent + " silent or never started";
    note.textContent = ss.sources.length ? "" : "The monitor knows no source yet.";
    rs.rows(tb, ss.sources, function (s, tr) {
      tr.dataset.state = s.state;
      tr.className = "state-" + s.state;
      var state = rs.html("span", "state " + s.state, s.state === "ok" ? "ok" : s.state.replace("_", " "));
      return [s.source, state, rate(s.rate), s.expected ? rate(s.expected) + (s.basis ? " (" + s.basis + ")" : "") : "–",
        ago(s.since, st.time), rs.fmt(s.events), s.last_event ? ago(s.last_event, st.time) : "never"];
    }, "no sources");
  }

  // latency fills the decision-latency table: one row per rule.
  function latency(st) {
    var rows = st.latency, tb = byId("latency").tBodies[0];
    if (!rows) {
      byId("latency-note").textContent = "The pipeline keeps no decision latencies.";
      rs.rows(tb, [], null, "none");
      return;
    }
    byId("latency-note").textContent = rows.length ? "p50 and p99 are the upper bounds of the histogram's buckets (100 µs doubling); also rulestream_decision_latency_seconds in /metrics." : "";
    rs.rows(tb, rows, function (r) {
      return [r.rule, rs.fmt(r.count), r.p50ms.toFixed(1), r.p99ms.toFixed(1), r.maxMs.toFixed(1)];
    }, "no decision written yet");
  }

  return { model: model, sources: sources, latency: latency };
})();
