// Shared by the dashboard (app.js) and the customer page (customer.js):
// error recording, formatting, tables and SVG charts. No library. Every
// text from the server goes in through textContent, never as HTML.
var rs = (function () {
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
  var NS = "http://www.w3.org/2000/svg";

  function el(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  // html makes an HTML element with a class and a text.
  function html(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }
  function size(svg) {
    var vb = svg.viewBox.baseVal;
    return { w: vb.width, h: vb.height };
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
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
  // clip shortens a label to n characters.
  function clip(s, n) { return s.length > n ? s.substr(0, n - 1) + "…" : s; }
  // trackName is "Title — Artist", or the id when track:<id> is missing.
  function trackName(id, t) {
    if (!t) { return "track " + id; }
    return (t.title || "untitled") + " — " + (t.artist || "unknown artist");
  }
  // utc formats unix milliseconds as "YYYY-MM-DD HH:MM:SS".
  function utc(ms) { return new Date(ms).toISOString().substr(0, 19).replace("T", " "); }

  // columns draws vertical bars with an optional line (values 0..1) on a
  // right axis.
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
    var bw = w / values.length, every = Math.ceil(values.length / (opts.labels || 12));
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

  // ranking draws horizontal bars; entries are {label, title, plays}.
  function ranking(svg, entries, color, left) {
    clear(svg);
    if (!entries.length) { empty(svg, "no data yet"); return; }
    var s = size(svg), L = left || 120, R = 50, T = 4, chars = Math.floor((L - 10) / 6);
    var bh = Math.min(20, (s.h - T) / entries.length), max = Math.max.apply(null, entries.map(function (e) { return e.plays; }));
    entries.forEach(function (e, i) {
      var y = T + i * bh, bw = (s.w - L - R) * e.plays / max;
      var label = el("text", { x: L - 6, y: y + bh * 0.7, "text-anchor": "end", "class": "label" }, clip(e.label, chars));
      label.appendChild(el("title", {}, e.title || e.label));
      svg.appendChild(label);
      var r = el("rect", { x: L, y: y + bh * 0.12, width: Math.max(bw, 1), height: bh * 0.76, fill: color });
      r.appendChild(el("title", {}, (e.title || e.label) + ": " + e.plays));
      svg.appendChild(r);
      svg.appendChild(el("text", { x: L + bw + 4, y: y + bh * 0.7 }, fmt(e.plays)));
    });
    svg.dataset.points = String(entries.length);
  }

  // axes draws the horizontal grid and the y labels of a chart of height
  // h from T, up to max.
  function axes(svg, L, T, w, h, max, yFmt) {
    for (var g = 0; g <= 4; g++) {
      var y = T + h - h * g / 4;
      svg.appendChild(el("line", { x1: L, x2: L + w, y1: y, y2: y, "class": "axis" }));
      svg.appendChild(el("text", { x: L - 6, y: y + 4, "text-anchor": "end" }, (yFmt || fmt)(max * g / 4)));
    }
  }

  // lines draws lines over time; series = [{name, values: [{t, v}]}].
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
    axes(svg, L, T, w, h, max, yFmt);
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

  // rows fills a table's body: one row per item, cells from cells(item,
  // tr) (strings, or nodes); an empty list gives one row with emptyMsg.
  // With append, the rows go after those already there. The table's
  // data-rows counts its rows of items.
  function rows(tbody, items, cells, emptyMsg, append) {
    var table = tbody.parentNode;
    if (!append) { clear(tbody); }
    if (items.length) { table.querySelectorAll("tr.empty").forEach(function (tr) { tr.remove(); }); }
    if (!items.length && !tbody.rows.length) {
      var tr = html("tr", "empty"), td = html("td", "", emptyMsg);
      td.colSpan = table.querySelectorAll("thead th").length || 1;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
    items.forEach(function (it) {
      var tr = html("tr");
      cells(it, tr).forEach(function (c) {
        var td = html("td");
        if (c instanceof Node) { td.appendChild(c); } else { td.textContent = c === null || c === undefined ? "–" : String(c); }
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    table.dataset.rows = String(tbody.querySelectorAll("tr:not(.empty)").length);
  }

  return { COLORS: COLORS, el: el, html: html, clear: clear, empty: empty, fmt: fmt, niceMax: niceMax, clip: clip,
    trackName: trackName, utc: utc, columns: columns, ranking: ranking, axes: axes, lines: lines, rows: rows, size: size };
})();
