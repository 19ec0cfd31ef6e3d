// The music-stream dashboard: polls api/dashboard and draws SVG charts.
// No library. State for tests and probes goes into body's data attributes.
(function () {
  "use strict";
  var body = document.body;
  var errors = 0;
  function recordError(msg) {
    errors++;
    body.dataset.jsErrors = String(errors);
    var li = document.createElement("li");
    li.textContent = msg;
    document.getElementById("js-errors").appendChild(li);
  }
  window.addEventListener("error", function (e) { recordError("error: " + e.message + " at " + e.filename + ":" + e.lineno); });
  window.addEventListener("unhandledrejection", function (e) { recordError("unhandled rejection: " + e.reason); });

  var COLORS = ["#4e9bde", "#f2a541", "#6cc785", "#d96c75", "#a98ae0", "#5fc9c9", "#c9c95f"];
  var LEVELS = { "0": "Free", "1": "Silver", "2": "Gold", "unknown": "unknown" };
  var GENDERS = { "0": "0 (F)", "1": "1 (M)", "unknown": "unknown" };
  var NS = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function size(svg) {
    var vb = svg.viewBox.baseVal;
    return { w: vb.width, h: vb.height };
  }
  function clear(svg) { while (svg.firstChild) { svg.removeChild(svg.firstChild); } }
  function empty(svg, msg) {
    var s = size(svg);
    svg.appendChild(el("text", { x: s.w / 2, y: s.h / 2, "text-anchor": "middle", "class": "empty" }, msg));
    svg.dataset.points = "0";
  }
  function fmt(n) {
    if (n >= 1e6) { return (n / 1e6).toFixed(1) + "M"; }
    if (n >= 1e4) { return (n / 1e3).toFixed(0) + "k"; }
    if (n >= 1e3) { return (n / 1e3).toFixed(1) + "k"; }
    return String(Math.round(n * 10) / 10);
  }
  function niceMax(v) {
    if (v <= 0) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (steps[i] * p >= v) { return steps[i] * p; } }
    return 10 * p;
  }

  // Vertical bars with an optional line (values 0..1) on a right axis.
  function columns(svg, labels, values, opts) {
    clear(svg);
    if (!values.length) { empty(svg, opts.emptyText || "no data yet"); return; }
    var s = size(svg), L = 48, R = opts.line ? 44 : 10, T = 10, B = 34;
    var w = s.w - L - R, h = s.h - T - B, max = niceMax(Math.max.apply(null, values));
    for (var g = 0; g <= 4; g++) {
      var y = T + h - h * g / 4;
      svg.appendChild(el("line", { x1: L, x2: L + w, y1: y, y2: y, "class": "axis" }));
      svg.appendChild(el("text", { x: L - 6, y: y + 4, "text-anchor": "end" }, fmt(max * g / 4)));
      if (opts.line) { svg.appendChild(el("text", { x: L + w + 6, y: y + 4 }, (25 * g) + "%")); }
    }
    var bw = w / values.length, every = Math.ceil(values.length / 12);
    values.forEach(function (v, i) {
      var bh = h * v / max, x = L + i * bw;
      var r = el("rect", { x: x + bw * 0.12, y: T + h - bh, width: Math.max(bw * 0.76, 1), height: bh, fill: opts.color || COLORS[0] });
      r.appendChild(el("title", {}, labels[i] + ": " + v));
      svg.appendChild(r);
      if (i % every === 0) {
        svg.appendChild(el("text", { x: x + bw / 2, y: T + h + 14, "text-anchor": "middle" }, labels[i]));
      }
    });
    if (opts.line) {
      var pts = opts.line.map(function (v, i) { return (L + i * bw + bw / 2) + "," + (T + h - h * v); });
      svg.appendChild(el("polyline", { points: pts.join(" "), fill: "none", stroke: COLORS[1], "stroke-width": 2 }));
    }
    if (opts.caption) { svg.appendChild(el("text", { x: L, y: s.h - 4 }, opts.caption)); }
    svg.dataset.points = String(values.length);
  }

  // Horizontal bars, for rankings.
  function ranking(svg, entries, label, color) {
    clear(svg);
    if (!entries.length) { empty(svg, "no data yet"); return; }
    var s = size(svg), L = 120, R = 50, T = 4;
    var bh = Math.min(20, (s.h - T) / entries.length), max = Math.max.apply(null, entries.map(function (e) { return e.plays; }));
    entries.forEach(function (e, i) {
      var y = T + i * bh, bw = (s.w - L - R) * e.plays / max;
      svg.appendChild(el("text", { x: L - 6, y: y + bh * 0.7, "text-anchor": "end" }, label(e.key)));
      var r = el("rect", { x: L, y: y + bh * 0.12, width: Math.max(bw, 1), height: bh * 0.76, fill: color });
      r.appendChild(el("title", {}, e.key + ": " + e.plays));
      svg.appendChild(r);
      svg.appendChild(el("text", { x: L + bw + 4, y: y + bh * 0.7 }, fmt(e.plays)));
    });
    svg.dataset.points = String(entries.length);
  }

  // Lines over processing time; series = [{name, values: [{t, v}]}].
  function lines(svg, series, yFmt) {
    clear(svg);
    var all = [];
    series.forEach(function (s) { s.values.forEach(function (p) { if (p.v !== null) { all.push(p); } }); });
    if (!all.length) { empty(svg, "no samples yet"); return; }
    var s = size(svg), L = 48, R = 10, T = 10, B = 22, w = s.w - L - R, h = s.h - T - B;
    var t0 = Math.min.apply(null, all.map(function (p) { return p.t; }));
    var t1 = Math.max.apply(null, all.map(function (p) { return p.t; }));
    var max = niceMax(Math.max.apply(null, all.map(function (p) { return p.v; })));
    var span = Math.max(t1 - t0, 1);
    for (var g = 0; g <= 4; g++) {
      var y = T + h - h * g / 4;
      svg.appendChild(el("line", { x1: L, x2: L + w, y1: y, y2: y, "class": "axis" }));
      svg.appendChild(el("text", { x: L - 6, y: y + 4, "text-anchor": "end" }, (yFmt || fmt)(max * g / 4)));
    }
    svg.appendChild(el("text", { x: L, y: s.h - 4 }, new Date(t0).toISOString().substr(11, 8)));
    svg.appendChild(el("text", { x: L + w, y: s.h - 4, "text-anchor": "end" }, new Date(t1).toISOString().substr(11, 8)));
    series.forEach(function (sr, i) {
      var pts = sr.values.filter(function (p) { return p.v !== null; }).map(function (p) {
        return (L + w * (p.t - t0) / span).toFixed(1) + "," + (T + h - h * p.v / max).toFixed(1);
      });
      if (pts.length === 1) { pts.push((L + w) + "," + pts[0].split(",")[1]); }
      svg.appendChild(el("polyline", { points: pts.join(" "), fill: "none", stroke: COLORS[i % COLORS.length], "stroke-width": 2 }));
    });
    svg.dataset.points = String(all.length);
  }

  function text(id, v) { document.getElementById(id).textContent = v; }
  function byId(id) { return document.getElementById(id); }
  function hourLabel(h) { return h.substr(6, 2) + "/" + h.substr(4, 2) + " " + h.substr(8, 2) + "h"; }
  function dur(s) {
    if (s >= 3600) { return (s / 3600).toFixed(1) + " h"; }
    if (s >= 60) { return (s / 60).toFixed(1) + " min"; }
    return s.toFixed(1) + " s";
  }
  function shortDur(s) { // for axes
    if (s >= 3600) { return (s / 3600).toFixed(1) + "h"; }
    if (s >= 60) { return Math.round(s / 60) + "m"; }
    return Math.round(s) + "s";
  }

  function render(st) {
    text("pipeline", "· " + st.pipeline);
    var ops = st.ops || [];
    var last = ops.length ? ops[ops.length - 1] : null;
    text("t-in", fmt(st.stats.eventsIn));
    text("t-rate", last ? fmt(last.eventsPerSec) : "–");
    text("t-firings", fmt(st.stats.firings));
    text("t-wm", st.stats.watermark || "–");
    text("t-lag", dur(st.stats.lagSeconds));
    text("t-dead", fmt(st.stats.deadLetters) + " · " + fmt(st.stats.late));
    var health = st.health ? st.health.status : "–";
    text("t-health", health);

    var hours = st.hours || [];
    columns(byId("chart-hours"), hours.map(function (h) { return hourLabel(h.hour); }), hours.map(function (h) { return h.plays; }),
      { line: hours.map(function (h) { return h.mobileShare; }), emptyText: "no complete hour yet" });
    text("zip-bucket", st.topZips.bucket || "–");
    text("track-bucket", st.topTracks.bucket ? hourLabel(st.topTracks.bucket) : "–");
    ranking(byId("chart-zips"), st.topZips.entries || [], function (k) { return k; }, COLORS[2]);
    ranking(byId("chart-tracks"), st.topTracks.entries || [], function (k) { return "track " + k; }, COLORS[4]);
    var lv = st.levels || [], gd = st.genders || [], ag = st.ages || [];
    columns(byId("chart-levels"), lv.map(function (e) { return LEVELS[e.key] || e.key; }), lv.map(function (e) { return e.plays; }), { color: COLORS[0] });
    columns(byId("chart-genders"), gd.map(function (e) { return GENDERS[e.key] || e.key; }), gd.map(function (e) { return e.plays; }), { color: COLORS[3] });
    byId("ages-figure").hidden = ag.length === 0;
    if (ag.length) {
      columns(byId("chart-ages"), ag.map(function (e) { return e.key; }), ag.map(function (e) { return e.plays; }), { color: COLORS[5] });
    }

    var rules = st.rules || [];
    lines(byId("chart-firings"), rules.map(function (r) {
      return { name: r, values: ops.map(function (p) { return { t: p.t, v: p.firingsPerMin[r] || 0 }; }) };
    }));
    var legend = byId("rules-legend");
    legend.textContent = "";
    rules.forEach(function (r, i) {
      var sw = document.createElement("i");
      sw.className = "sw";
      sw.style.background = COLORS[i % COLORS.length];
      legend.appendChild(sw);
      legend.appendChild(document.createTextNode(r));
    });
    lines(byId("chart-rate"), [{ name: "events/s", values: ops.map(function (p) { return { t: p.t, v: p.eventsPerSec }; }) }]);
    lines(byId("chart-lag"), [{ name: "lag", values: ops.map(function (p) { return { t: p.t, v: p.lagSeconds }; }) }], shortDur);

    var status = byId("status");
    if (st.errors && st.errors.length) {
      status.textContent = "read errors: " + st.errors.join("; ");
      status.className = "status error";
    } else {
      status.textContent = "updated " + new Date(st.time).toISOString().substr(11, 8) + " UTC";
      status.className = "status";
    }
  }

  var updates = 0;
  function refresh() {
    return fetch("api/dashboard", { cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error("api/dashboard: HTTP " + r.status); }
      return r.json();
    }).then(function (st) {
      render(st);
      if (updates === 0) { body.dataset.firstRenderMs = String(Math.round(performance.now())); }
      updates++;
      body.dataset.updates = String(updates);
      body.dataset.status = "ok";
    }).catch(function (err) {
      body.dataset.status = "error";
      var status = byId("status");
      status.textContent = String(err);
      status.className = "status error";
    });
  }
  refresh();
  setInterval(refresh, 2000);
})();
