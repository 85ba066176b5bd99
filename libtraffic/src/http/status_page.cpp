#include "traffic/http/status_page.hpp"

#include <string>

namespace traffic::http {

namespace {

// Plain SVG charts and a table, redrawn on every event; no library (a chart library
// would be larger than the page). Series: the last 15 minutes per instance, from
// /admin/fleet?series=1 at load, then extended by each event's samples.
constexpr std::string_view kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>trafficd fleet</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:16px;color:#1d2330;background:#f6f7f9}
h1{font-size:18px;margin:0 0 4px}#state{color:#667;margin-bottom:12px}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:16px}
th,td{padding:5px 8px;border-bottom:1px solid #e3e6eb;text-align:right;white-space:nowrap}
th:first-child,td:first-child,th:nth-child(2),td:nth-child(2){text-align:left}
tr.offline td{color:#a33;background:#fbeeee}tr.total td{font-weight:600;background:#eef3fb}
.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;color:#fff;background:#2a8a45}
tr.offline .badge{background:#b33}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:12px}
.chart{background:#fff;padding:8px;border:1px solid #e3e6eb}.chart h2{font-size:13px;margin:0 0 4px}
svg{width:100%;height:120px}.legend span{margin-right:10px;font-size:12px}
</style></head><body>
<h1>trafficd fleet</h1><div id="state">connecting…</div>
<table><thead><tr><th>instance</th><th>state</th><th>clicks/s</th><th>requests/s</th><th>p50 ms</th><th>p99 ms</th>
<th>4xx/s</th><th>5xx/s</th><th>CPU</th><th>memory</th><th>spool backlog</th><th>sink lag</th><th>recipe</th>
<th>recipe age</th><th>Redis</th><th>uptime</th></tr></thead><tbody id="rows"></tbody></table>
<div class="charts" id="charts"></div>
<script>
"use strict";
const series = new Map(), latest = new Map(), keep = 900;
const colors = ["#2f6fd0","#d0632f","#2a8a45","#8a2fd0","#c9a400","#1a9aa0","#a0416b","#555"];
const fmt = (v, d) => v == null || v < 0 ? "–" : Number(v).toFixed(d);
const bytes = v => v >= 1 << 30 ? (v / (1 << 30)).toFixed(1) + " GiB" : v >= 1 << 20 ? (v / (1 << 20)).toFixed(1) + " MiB"
  : v >= 1024 ? (v / 1024).toFixed(0) + " KiB" : v + " B";
const age = s => s == null || s < 0 ? "–" : s < 120 ? s.toFixed(0) + " s" : s < 7200 ? (s / 60).toFixed(0) + " min" : (s / 3600).toFixed(1) + " h";
function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
function add(id, point) {
  const list = series.get(id) || [];
  if (!list.length || list[list.length - 1].at < point.at) list.push(point);
  while (list.length > keep) list.shift();
  series.set(id, list);
}
function take(instances, withSeries) {
  for (const i of instances) {
    latest.set(i.instance, i);
    if (withSeries && i.series) for (const p of i.series) add(i.instance, p);
    add(i.instance, {at: i.at, rps: i.requests_per_second, cps: i.clicks_per_second, p50: i.p50_ms, p99: i.p99_ms,
                     e5: i.server_errors_per_second, cpu: i.process_cpu, rss: i.resident_bytes, backlog: i.spool_backlog_bytes});
  }
  draw();
}
function row(i, total) {
  const tr = document.createElement("tr");
  if (total) tr.className = "total"; else if (!i.online) tr.className = "offline";
  tr.dataset.instance = total ? "" : i.instance;
  const state = document.createElement("td");
  if (!total) { const b = document.createElement("span"); b.className = "badge"; b.textContent = i.online ? "online" : "offline"; state.append(b); }
  const lag = (i.sinks || []).reduce((m, s) => Math.max(m, s.lag_bytes), 0);
  tr.append(cell(total ? "fleet" : i.instance), state, cell(fmt(i.clicks_per_second, 1)), cell(fmt(i.requests_per_second, 1)),
    cell(fmt(i.p50_ms, 3)), cell(fmt(i.p99_ms, 3)), cell(fmt(i.client_errors_per_second, 1)), cell(fmt(i.server_errors_per_second, 1)),
    cell(total ? fmt(i.process_cpu, 2) + " cores" : (i.process_cpu * 100).toFixed(0) + " % of a core"), cell(bytes(i.resident_bytes)),
    cell(bytes(i.spool_backlog_bytes)), cell(bytes(lag)), cell(total ? "" : "v" + i.recipe_version), cell(total ? "" : age(i.recipe_age_seconds)),
    cell(total ? "" : i.redis_configured ? (i.redis_ok ? "ok" : "failing") : "none"), cell(total ? "" : age(i.uptime_seconds)));
  return tr;
}
// The fleet's line: per second, the instances' sum (their maximum for latencies).
function fleetLine(key, from, combine) {
  const bySecond = new Map();
  for (const list of series.values()) for (const p of list) {
    if (p.at < from) continue;
    const second = Math.floor(p.at / 1000) * 1000;
    bySecond.set(second, bySecond.has(second) ? combine(bySecond.get(second), p[key]) : p[key]);
  }
  return [...bySecond.entries()].sort((a, b) => a[0] - b[0]).map(([at, v]) => ({at, v}));
}
function chart(title, key, digits, combine) {
  const div = document.createElement("div"); div.className = "chart";
  const h = document.createElement("h2"); h.textContent = title; div.append(h);
  // The last 15 minutes, or since the first point when there is less: the lines fill the width.
  const now = Math.max(...[...latest.values()].map(i => i.at));
  const first = Math.min(...[...series.values()].map(l => l.length ? l[0].at : now));
  const from = Math.max(now - keep * 1000, first), span = Math.max(now - from, 1000);
  const lines = [...series.keys()].sort().map((id, n) => ({id, color: colors[n % colors.length], dash: "",
    points: series.get(id).filter(p => p.at >= from).map(p => ({at: p.at, v: p[key]}))}));
  if (series.size > 1) lines.push({id: "fleet", color: "#1d2330", dash: "4 3", points: fleetLine(key, from, combine)});
  let max = 0;
  for (const line of lines) for (const p of line.points) max = Math.max(max, p.v);
  const peak = max;
  max = max > 0 ? max * 1.1 : 1;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 300 100"); svg.setAttribute("preserveAspectRatio", "none");
  const legend = document.createElement("div"); legend.className = "legend";
  for (const { id, color, dash, points } of lines) {
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", points.map(p => ((p.at - from) / span * 300).toFixed(2) + "," + (100 - p.v / max * 100).toFixed(2)).join(" "));
    line.setAttribute("fill", "none"); line.setAttribute("stroke", color); line.setAttribute("stroke-width", "1.2");
    if (dash) line.setAttribute("stroke-dasharray", dash);
    line.setAttribute("vector-effect", "non-scaling-stroke"); svg.append(line);
    const l = document.createElement("span"); l.style.color = color; l.textContent = (dash ? "┅ " : "● ") + id; legend.append(l);
  }
  const top = document.createElement("div"); top.className = "legend";
  top.textContent = "max " + fmt(peak, digits) + " · last " + Math.round(span / 60000 * 10) / 10 + " min";
  div.append(svg, legend, top);
  return div;
}
function draw() {
  const rows = document.getElementById("rows"); rows.textContent = "";
  const all = [...latest.values()].sort((a, b) => a.instance < b.instance ? -1 : 1);
  const on = all.filter(i => i.online), sum = k => on.reduce((t, i) => t + (i[k] || 0), 0);
  for (const i of all) rows.append(row(i, false));
  rows.append(row({clicks_per_second: sum("clicks_per_second"), requests_per_second: sum("requests_per_second"),
    p50_ms: on.length ? Math.max(...on.map(i => i.p50_ms)) : null, p99_ms: on.length ? Math.max(...on.map(i => i.p99_ms)) : null,
    client_errors_per_second: sum("client_errors_per_second"), server_errors_per_second: sum("server_errors_per_second"),
    process_cpu: sum("process_cpu"), resident_bytes: sum("resident_bytes"), spool_backlog_bytes: sum("spool_backlog_bytes"), sinks: []}, true));
  const charts = document.getElementById("charts"); charts.textContent = "";
  const plus = (a, b) => a + b;
  charts.append(chart("clicks/s", "cps", 1, plus), chart("p99 ms (server)", "p99", 3, Math.max), chart("CPU (cores)", "cpu", 2, plus),
                chart("5xx/s", "e5", 1, plus), chart("spool backlog (bytes)", "backlog", 0, plus), chart("memory (bytes)", "rss", 0, plus));
  const state = document.getElementById("state");
  state.textContent = on.length + " of " + all.length + " instances online · " + new Date().toLocaleTimeString();
  state.dataset.at = Math.max(0, ...all.map(i => i.at));
}
function listen() {
  const events = new EventSource("/status/events");
  events.onmessage = e => take(JSON.parse(e.data).instances, false);
  events.onerror = () => { document.getElementById("state").textContent = "reconnecting…"; };
}
fetch("/admin/fleet?series=1", {credentials: "same-origin"}).then(r => r.ok ? r.json() : {instances: []})
  .then(f => take(f.instances, true)).catch(() => {}).finally(listen);
</script></body></html>
)HTML";

constexpr std::string_view kLoginHead = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>trafficd fleet — sign in</title>
<style>body{font:14px system-ui,sans-serif;margin:40px auto;max-width:360px;color:#1d2330}
input{width:100%;padding:6px;margin:6px 0;box-sizing:border-box}p.refused{color:#b33}</style></head><body>
<h1>trafficd fleet</h1>
)HTML";
constexpr std::string_view kLoginRefused = R"HTML(<p class="refused">That is not the admin token.</p>
)HTML";
constexpr std::string_view kLoginForm = R"HTML(<form method="post" action="/status/login">
<label>Admin token (ADMIN_TOKEN)<input type="password" name="token" autofocus autocomplete="current-password"></label>
<input type="submit" value="Sign in"></form></body></html>
)HTML";

// The two forms, built once.
const std::string& login_page(bool refused) {
  static const std::string plain = std::string(kLoginHead) + std::string(kLoginForm);
  static const std::string with_refusal =
      std::string(kLoginHead) + std::string(kLoginRefused) + std::string(kLoginForm);
  return refused ? with_refusal : plain;
}

}  // namespace

std::string_view status_page() noexcept {
  return kPage;
}

std::string_view status_login_page(bool refused) noexcept {
  return login_page(refused);
}

}  // namespace traffic::http
