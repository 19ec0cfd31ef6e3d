// The music-stream dashboard: polls api/dashboard?range= and draws it with
// charts.js. State for tests and probes goes into body's data attributes.
(function () {
  "use strict";
  var body = document.body;
  var COLORS = rs.COLORS;
  var LEVELS = { "0": "Free", "1": "Silver", "2": "Gold", "unknown": "unknown" };
  var GENDERS = { "0": "0 (F)", "1": "1 (M)", "unknown": "unknown" };
  var RANGES = ["1h", "24h", "7d", "all"];

  function text(id, v) { document.getElementById(id).textContent = v; }
  function byId(id) { return document.getElementById(id); }
  function hourLabel(h) { return h.substr(6, 2) + "/" + h.substr(4, 2) + " " + h.substr(8, 2) + "h"; }
  function dayLabel(d) { return d.substr(6, 2) + "/" + d.substr(4, 2); }
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

  // The range: the page's ?range=, changed by the picker.
  var range = new URLSearchParams(location.search).get("range");
  if (RANGES.indexOf(range) < 0) { range = ""; }
  function markRange(r) {
    document.querySelectorAll("#ranges button").forEach(function (b) {
      b.setAttribute("aria-pressed", String(b.dataset.range === r));
    });
  }
  document.querySelectorAll("#ranges button").forEach(function (b) {
    b.addEventListener("click", function () {
      range = b.dataset.range;
      markRange(range);
      history.replaceState(null, "", "?range=" + range);
      body.dataset.status = "loading";
      refresh();
    });
  });
  byId("customer-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var id = byId("customer-id").value.trim();
    if (id) { location.href = "customer/" + encodeURIComponent(id); }
  });

  function renderPlays(st) {
    var b = st.buckets || [], byDay = st.range.bucket === "day", ri = st.range;
    text("plays-caption", byDay ? "Plays per day" : "Plays per hour");
    var info = ri.hours ? ri.hours + " hours with data, " + hourLabel(ri.from) + " – " + hourLabel(ri.to) + " UTC" : "no hour written yet";
    if (ri.omitted) { info += " (" + ri.omitted + " older hours left out)"; }
    text("range-info", ri.label + " · " + info);
    rs.columns(byId("chart-hours"), b.map(function (x) { return byDay ? dayLabel(x.key) : hourLabel(x.key); }),
      b.map(function (x) { return x.plays; }), { line: b.map(function (x) { return x.mobileShare; }), emptyText: "no complete hour yet" });
    var hrs = st.topZips.hours ? (st.topZips.hours === 1 ? "1 hour" : st.topZips.hours + " hours") : "–";
    text("zip-bucket", hrs);
    text("track-bucket", hrs);
    rs.ranking(byId("chart-zips"), st.topZips.entries.map(function (e) { return { label: e.key, plays: e.plays }; }), COLORS[2]);
    rs.ranking(byId("chart-tracks"), st.topTracks.entries.map(function (e) {
      return { label: rs.trackName(e.key, e.track), title: rs.trackName(e.key, e.track) + " (track " + e.key + ")", plays: e.plays };
    }), COLORS[4], 230);
    var lv = st.levels || [], gd = st.genders || [], ag = st.ages || [];
    rs.columns(byId("chart-levels"), lv.map(function (e) { return LEVELS[e.key] || e.key; }), lv.map(function (e) { return e.plays; }), { color: COLORS[0] });
    rs.columns(byId("chart-genders"), gd.map(function (e) { return GENDERS[e.key] || e.key; }), gd.map(function (e) { return e.plays; }), { color: COLORS[3] });
    byId("ages-figure").hidden = ag.length === 0;
    if (ag.length) {
      rs.columns(byId("chart-ages"), ag.map(function (e) { return e.key; }), ag.map(function (e) { return e.plays; }), { color: COLORS[5] });
    }
  }

  function renderOps(st) {
    var ops = st.ops || [], rules = st.rules || [];
    rs.lines(byId("chart-firings"), rules.map(function (r) {
      return { name: r, values: ops.map(function (p) { return { t: p.t, v: p.firingsPerMin[r] || 0 }; }) };
    }));
    var legend = byId("rules-legend");
    legend.textContent = "";
    rules.forEach(function (r, i) {
      var sw = rs.html("i", "sw");
      sw.style.background = COLORS[i % COLORS.length];
      legend.appendChild(sw);
      legend.appendChild(document.createTextNode(r));
    });
    rs.lines(byId("chart-rate"), [{ name: "events/s", values: ops.map(function (p) { return { t: p.t, v: p.eventsPerSec }; }) }]);
    rs.lines(byId("chart-lag"), [{ name: "lag", values: ops.map(function (p) { return { t: p.t, v: p.lagSeconds }; }) }], shortDur);
  }

  function render(st) {
    text("pipeline", "· " + st.pipeline);
    var ops = st.ops || [];
    var last = ops.length ? ops[ops.length - 1] : null;
    text("t-in", rs.fmt(st.stats.eventsIn));
    text("t-rate", last ? rs.fmt(last.eventsPerSec) : "–");
    text("t-firings", rs.fmt(st.stats.firings));
    text("t-wm", st.stats.watermark || "–");
    text("t-lag", dur(st.stats.lagSeconds));
    text("t-dead", rs.fmt(st.stats.deadLetters) + " · " + rs.fmt(st.stats.late));
    text("t-health", st.health ? st.health.status : "–");
    markRange(st.range.name);
    renderPlays(st);
    dashboard.model(st);
    dashboard.sources(st);
    dashboard.latency(st);
    renderOps(st);
    body.dataset.range = st.range.name;

    var status = byId("status");
    if (st.errors && st.errors.length) {
      status.textContent = "read errors: " + st.errors.join("; ");
      status.className = "status error";
    } else {
      status.textContent = "updated " + new Date(st.time).toISOString().substr(11, 8) + " UTC";
      status.className = "status";
    }
  }

  // Only the newest request is drawn: a poll that was under way when the
  // range changed does not overwrite the new range.
  var updates = 0, seq = 0;
  function refresh() {
    var mine = ++seq;
    return fetch("api/dashboard" + (range ? "?range=" + range : ""), { cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error("api/dashboard: HTTP " + r.status); }
      return r.json();
    }).then(function (st) {
      if (mine !== seq) { return; }
      render(st);
      if (updates === 0) { body.dataset.firstRenderMs = String(Math.round(performance.now())); }
      updates++;
      body.dataset.updates = String(updates);
      body.dataset.status = "ok";
    }).catch(function (err) {
      if (mine !== seq) { return; }
      body.dataset.status = "error";
      var status = byId("status");
      status.textContent = String(err);
      status.className = "status error";
    });
  }
  refresh();
  setInterval(refresh, 2000);
})();
