// The customer page: reads ../api/customer/<id> once, then pages through
// its sections (../api/customer/<id>/<section>) on demand. Every value
// from Redis goes in as text (charts.js), never as HTML.
(function () {
  "use strict";
  var body = document.body, COLORS = rs.COLORS;
  var LEVELS = { "0": "Free", "1": "Silver", "2": "Gold" };
  var GENDERS = { "0": "0 (F)", "1": "1 (M)" };
  var parts = location.pathname.split("/");
  var id = decodeURIComponent(parts[parts.length - 1]);
  var api = "../api/customer/" + encodeURIComponent(id);
  var pageSize = 50;
  var offsets = { plays: 0, interest: 0 };
  var found = { ads: 0, sms: 0 };

  function byId(n) { return document.getElementById(n); }
  function text(n, v) { byId(n).textContent = v; }
  function get(url) {
    return fetch(url, { cache: "no-store" }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { throw new Error(j.error || url + ": HTTP " + r.status); }
        return j;
      });
    });
  }
  function fail(err) {
    body.dataset.status = "error";
    byId("status").textContent = String(err.message || err);
    byId("status").className = "status error";
  }
  function errors(list) {
    if (list && list.length) { fail(new Error("read errors: " + list.join("; "))); }
  }
  function track(idv, t) { return rs.trackName(idv, t); }

  function profile(cs) {
    var p = cs.profile, dl = byId("profile");
    rs.clear(dl);
    text("c-name", p.name ? "· " + p.name : "");
    document.title = "rulestream · customer " + id + (p.name ? " · " + p.name : "");
    var shown = { gender: GENDERS[p.gender], level: LEVELS[p.level], status: p.status === "1" ? "1 (active)" : p.status,
      linked_with_apps: p.linked_with_apps === "1" ? "yes" : p.linked_with_apps === "0" ? "no" : undefined };
    var keys = Object.keys(p);
    if (!keys.length) { dl.appendChild(rs.html("dd", "note", "no customer:" + id + " hash: the reference data does not know this customer")); }
    keys.forEach(function (k) {
      dl.appendChild(rs.html("dt", "", k.replace(/_/g, " ")));
      dl.appendChild(rs.html("dd", "", shown[k] || p[k]));
    });
    var r = cs.recorder;
    text("recorder", r ? "Recent plays: the newest " + r.keep + " per customer are kept" + (r.ttl ? ", for " + r.ttl + " after their last play" : "") +
      "; " + rs.fmt(r.plays) + " recorded since start" + (r.lost ? ", " + rs.fmt(r.lost) + " lost to failed writes" : "") +
      (r.lastError ? " (" + r.lastError + ")" : "") + "." :
      "This dashboard was not given the plays recorder (dashboard.Config.Plays): it shows what plays:" + id + " holds without knowing whether plays are being recorded.");
  }

  function summary(s) {
    text("t-plays", rs.fmt(s.plays));
    text("t-mobile", s.plays ? Math.round(100 * s.mobile / s.plays) + "%" : "–");
    text("t-first", s.first ? rs.utc(s.first) : "–");
    text("t-last", s.last ? rs.utc(s.last) : "–");
    text("t-zips", String(s.zips.length));
    var hours = [];
    for (var h = 0; h < 24; h++) { hours.push((h < 10 ? "0" : "") + h + "h"); }
    rs.columns(byId("chart-cust-hours"), s.plays ? hours : [], s.plays ? s.byHour : [], { color: COLORS[0], labels: 8, emptyText: "no plays recorded" });
    rs.ranking(byId("chart-cust-zips"), s.zips.map(function (e) { return { label: e.key, plays: e.plays }; }), COLORS[2]);
    rs.ranking(byId("chart-cust-tracks"), s.tracks.map(function (e) {
      return { label: track(e.key, e.track), title: track(e.key, e.track) + " (track " + e.key + ")", plays: e.plays };
    }), COLORS[4], 230);
  }

  // pager sets a section's buttons and its "1–50 of 1000" from a page.
  function pager(name, offset, shown, total) {
    offsets[name] = offset;
    byId(name + "-newer").disabled = offset === 0;
    byId(name + "-older").disabled = offset + shown >= total;
    text(name + "-page", shown ? (offset + 1) + "–" + (offset + shown) + " of " + total : total + " in all");
    body.dataset[name + "Offset"] = String(offset);
  }
  function plays(pg) {
    rs.rows(byId("plays").tBodies[0], pg.plays, function (p) {
      return [rs.utc(p.t), track(p.trackId, p.track), p.zip, p.mobile ? "mobile" : "desktop", p.eventId];
    }, "no plays recorded for this customer");
    pager("plays", pg.offset, pg.plays.length, pg.total);
  }
  function interest(pg) {
    rs.rows(byId("interest").tBodies[0], pg.tracks, function (t) { return [rs.utc(t.since), track(t.trackId, t.track)]; },
      "no track in the interest list");
    pager("interest", pg.offset, pg.tracks.length, pg.total);
    text("t-interest", String(pg.total));
  }
  function entryTrack(e) { return track(e.track_id, e.title !== undefined ? { title: e.title, artist: e.artist } : null); }
  function entryTime(e) { var t = Number(e.at); return isFinite(t) && e.at ? rs.utc(t) : e.id; }
  function queue(name, qs, append) {
    var tb = byId(name).tBodies[0];
    var cells = name === "ads" ? function (e) { return [entryTime(e), entryTrack(e), e.rule]; } :
      function (e) { return [entryTime(e), e.offer_id, entryTrack(e)]; };
    rs.rows(tb, qs.entries, cells, "none among the entries examined", append);
    found[name] = Number(byId(name).dataset.rows);
    text(name + "-scan", "examined " + rs.fmt(qs.scanned) + " more of the " + rs.fmt(qs.length) + " entries of " + qs.key +
      (qs.next ? "; older ones not searched yet" : "; reached its start"));
    var more = byId(name + "-more");
    more.hidden = !qs.next;
    more.dataset.next = qs.next;
    text("t-targets", found.ads + " · " + found.sms);
  }

  function section(name, query, draw) {
    body.dataset.status = "loading";
    return get(api + "/" + name + "?" + query).then(function (s) {
      draw(s);
      body.dataset.status = "ok";
      errors(s.errors);
    }).catch(fail);
  }
  byId("plays-older").addEventListener("click", function () {
    section("plays", "offset=" + (offsets.plays + pageSize), function (s) { plays(s.plays); });
  });
  byId("plays-newer").addEventListener("click", function () {
    section("plays", "offset=" + Math.max(0, offsets.plays - pageSize), function (s) { plays(s.plays); });
  });
  byId("interest-older").addEventListener("click", function () {
    section("interest", "offset=" + (offsets.interest + pageSize), function (s) { interest(s.interest); });
  });
  byId("interest-newer").addEventListener("click", function () {
    section("interest", "offset=" + Math.max(0, offsets.interest - pageSize), function (s) { interest(s.interest); });
  });
  ["ads", "sms"].forEach(function (name) {
    byId(name + "-more").addEventListener("click", function (e) {
      section(name, "before=" + encodeURIComponent(e.target.dataset.next), function (s) { queue(name, s.queue, true); });
    });
  });

  text("c-id", id);
  text("c-key", id);
  document.querySelectorAll(".c-id").forEach(function (n) { n.textContent = id; });
  byId("json").href = api;
  get(api).then(function (cs) {
    pageSize = cs.pageSize || pageSize;
    profile(cs);
    summary(cs.summary);
    plays(cs.plays);
    interest(cs.interest);
    queue("ads", cs.ads, false);
    queue("sms", cs.sms, false);
    body.dataset.status = "ok";
    byId("status").textContent = "read " + new Date(cs.time).toISOString().substr(11, 8) + " UTC";
    errors(cs.errors);
  }).catch(fail);
})();
