// The /ops dashboard: polls GET /v1/status with an ops token and draws it.
// The token comes from the address's #token=… fragment (which browsers never
// send to the server) or from the form, and is kept in this tab's
// sessionStorage only. Everything is written with textContent: no status
// value is ever parsed as HTML.
"use strict";

const TOKEN_KEY = "callaudit.ops.token";
const POLL_MS = 3000;
let timer = null;

function $(selector) { return document.querySelector(selector); }

function token() {
  const match = /(?:^|&)token=([^&]+)/.exec(location.hash.slice(1));
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function showLogin(message) {
  clearTimeout(timer);
  $("#board").hidden = true;
  $("#logout").hidden = true;
  $("#login").hidden = false;
  const error = $("#login-error");
  error.hidden = !message;
  error.textContent = message || "";
}

function number(value) {
  if (value === null || value === undefined) return "–";
  return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toLocaleString("en-US", { maximumFractionDigits: 1 });
}

function duration(seconds) {
  const sign = seconds < 0 ? "-" : "";
  let s = Math.abs(Math.round(seconds));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60);
  return sign + (d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${s % 60}s`);
}

/// "2026-12-26T03:58:27.939600Z" as "2026-12-26 03:58 UTC".
function minute(timestamp) {
  return timestamp ? timestamp.slice(0, 16).replace("T", " ") + " UTC" : "–";
}

function setField(name, value) {
  for (const element of document.querySelectorAll(`[data-field="${name}"]`)) element.textContent = value;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fillTable(section, rows, render) {
  const body = $(`${section} tbody`);
  body.replaceChildren();
  for (const item of rows) render(body.insertRow(), item);
}

function drawSparkline(history) {
  const line = $("#sparkline polyline");
  if (history.length < 2) { line.setAttribute("points", ""); return; }
  const max = Math.max(1, ...history.map(p => p.per_second));
  const step = 300 / (history.length - 1);
  line.setAttribute("points", history.map((p, i) => `${(i * step).toFixed(1)},${(58 - (p.per_second / max) * 56).toFixed(1)}`).join(" "));
}

function render(status) {
  const fresh = status.fresh;
  const badge = $("#freshness");
  badge.textContent = `sampled ${status.sampled_at.slice(0, 19).replace("T", " ")} UTC${fresh ? "" : " — stale: " + (status.sample_error || "no recent sample")}`;
  badge.classList.toggle("stale", !fresh);

  setField("ingest.rate", number(status.ingest.rate_per_second));
  setField("ingest.window", number(Math.round(status.ingest.window_seconds)));
  setField("ingest.consumed", number(status.ingest.consumed));
  setField("ingest.head", number(status.ingest.head_position));
  setField("kafka.total_lag", number(status.kafka.total_lag));
  setField("kafka.group", `group ${status.kafka.consumer_group}`);
  drawSparkline(status.ingest.history);

  const kafkaBanner = $("#kafka-banner");
  kafkaBanner.hidden = status.kafka.reachable;
  kafkaBanner.textContent = status.kafka.reachable ? "" : `Kafka unreachable: ${status.kafka.error || "no answer"}`;

  const gaps = status.kafka.gaps || [];
  // A partition stopped at a gap the watermarks no longer show still needs an operator.
  const stoppedOnly = status.kafka.partitions.filter(p => p.ingest_stopped && !p.gap);
  const gapBanner = $("#gap-banner");
  gapBanner.hidden = gaps.length === 0 && stoppedOnly.length === 0;
  gapBanner.textContent = gaps.map(g =>
    `GAP: ${g.topic}[${g.partition}] lost ${number(g.messages)} message(s) (${g.kind === "below_low_watermark" ? "retention removed them unread" : "position past the partition's end"}); its ingest has stopped; see ops/runbooks/retention-gap.md`
  ).concat(stoppedOnly.map(p =>
    `STOPPED: ingest of ${p.topic}[${p.partition}] stopped at a gap its watermarks no longer show; see ops/runbooks/retention-gap.md`
  )).join(" · ");

  // Partitions with a gap first, then by lag.
  const partitions = [...status.kafka.partitions].sort((a, b) => (b.gap ? b.gap.messages : 0) - (a.gap ? a.gap.messages : 0) ||
    (b.lag ?? 0) - (a.lag ?? 0) || a.topic.localeCompare(b.topic) || a.partition - b.partition);
  fillTable("#partitions", partitions, (row, p) => {
    row.dataset.partition = `${p.topic}/${p.partition}`;
    if (p.gap || p.ingest_stopped) row.className = "gap"; else if (p.lag) row.className = "lagging";
    cell(row, p.topic); cell(row, p.partition, "num"); cell(row, number(p.stored_offset), "num");
    cell(row, number(p.low_watermark), "num"); cell(row, number(p.high_watermark), "num"); cell(row, number(p.lag), "num");
    cell(row, p.gap ? number(p.gap.messages) : p.ingest_stopped ? "stopped" : "none", "num");
  });

  const quarantined = status.projections.filter(p => p.quarantined.length > 0);
  const banner = $("#quarantine-banner");
  banner.hidden = quarantined.length === 0;
  banner.textContent = quarantined.map(p => `QUARANTINE: projection ${p.name} has set aside ${p.quarantined.length} stream(s); see \`callaudit projections status\``).join(" · ");
  fillTable("#projections", status.projections, (row, p) => {
    row.dataset.projection = p.name;
    cell(row, p.name);
    const state = cell(row, "");
    const badge = document.createElement("span");
    badge.className = `state state-${p.state}`;
    badge.textContent = p.state.replace("_", " ");
    state.appendChild(badge);
    cell(row, number(p.position), "num"); cell(row, number(p.lag_events), "num"); cell(row, number(p.lag_seconds), "num");
    cell(row, p.quarantined.map(q => q.stream).join(", ") || "none");
  });
  const horizon = $("#horizon");
  horizon.hidden = !status.horizon_holder;
  horizon.textContent = status.horizon_holder ? `Held back by an open transaction: ${status.horizon_holder}` : "";

  setField("dead_letters.open", number(status.dead_letters.open));
  setField("dead_letters.total", number(status.dead_letters.total));
  fillTable("#dead-letters", status.dead_letters.by_reason, (row, d) => {
    row.dataset.reason = `${d.reason}/${d.status}`;
    cell(row, d.reason); cell(row, d.status); cell(row, number(d.count), "num");
  });

  setField("requests.open", number(status.subject_requests.open));
  setField("requests.overdue", number(status.subject_requests.overdue));
  const nearest = status.subject_requests.by_deadline.slice(0, 10);
  const more = status.subject_requests.by_deadline.length - nearest.length;
  setField("requests.more", more > 0 ? `and ${more} more with later deadlines` : "");
  fillTable("#requests", nearest, (row, r) => {
    row.dataset.request = r.id;
    if (r.seconds_left !== null && r.seconds_left < 0) row.className = "overdue";
    cell(row, r.id); cell(row, r.kind + (r.extended ? " (extended)" : "")); cell(row, r.regime);
    cell(row, minute(r.due_at)); cell(row, r.seconds_left === null ? "–" : (r.seconds_left < 0 ? "overdue " : "") + duration(Math.abs(r.seconds_left)), "num");
  });

  setField("findings.day", status.findings_today.day);
  setField("findings.total", number(status.findings_today.total));
  fillTable("#findings", status.findings_today.by_rule, (row, f) => {
    row.dataset.rule = f.rule;
    cell(row, f.rule); cell(row, number(f.count), "num");
  });
  setField("reports.unissued", number(status.reports.unissued_closed_periods.length));

  const integrity = status.integrity;
  setField("integrity.seal", integrity.latest_seal === null ? "none yet" : `#${number(integrity.latest_seal)} at ${minute(integrity.latest_seal_at)}`);
  setField("integrity.through", number(integrity.sealed_through_position));
  setField("integrity.unsealed", number(integrity.unsealed_events));
  setField("integrity.lag", number(integrity.seal_lag_seconds));
  setField("integrity.conflicts", number(integrity.event_conflicts));
  const conflicts = $("#conflict-banner");
  conflicts.hidden = integrity.event_conflicts === 0;
  conflicts.textContent = integrity.event_conflicts === 0 ? "" :
    `INTEGRITY: ${integrity.event_conflicts} republish(es) reused a stored event's id with other content (EVENT_CONFLICT findings)`;
  document.body.dataset.sampledAt = status.sampled_at;
}

async function poll() {
  const secret = token();
  if (!secret) { showLogin(); return; }
  try {
    const response = await fetch("/v1/status", { headers: { Authorization: `Bearer ${secret}` }, cache: "no-store" });
    if (response.status === 401 || response.status === 403) {
      sessionStorage.removeItem(TOKEN_KEY);
      const problem = await response.json().catch(() => ({}));
      showLogin(problem.detail || "the token was refused");
      return;
    }
    if (response.ok) {
      $("#login").hidden = true;
      $("#board").hidden = false;
      $("#logout").hidden = false;
      render(await response.json());
    } else {
      const badge = $("#freshness");
      badge.textContent = `status answered ${response.status}; retrying`;
      badge.classList.add("stale");
    }
  } catch (error) {
    const badge = $("#freshness");
    badge.textContent = "the service cannot be reached; retrying";
    badge.classList.add("stale");
  }
  timer = setTimeout(poll, POLL_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  $("#login").addEventListener("submit", event => {
    event.preventDefault();
    const value = $("#token").value.trim();
    if (value) { sessionStorage.setItem(TOKEN_KEY, value); $("#token").value = ""; poll(); }
  });
  $("#logout").addEventListener("click", () => { sessionStorage.removeItem(TOKEN_KEY); showLogin(); });
  poll();
});
