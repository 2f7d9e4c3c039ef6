// The auditor's pages: reports (list, one report with its versions, its
// signature checked here with WebCrypto, its evidence bundle), on-demand
// reports, and the seals over the event log.

// ---- #/reports: the list, filters, on-demand generation ----

const REPORT_KINDS = ["day", "week", "month", "quarter", "custom"];
const REPORT_FILTERS = ["kind", "status", "from", "to"];

pages.reports = context => {
  if (!allowed(context, "auditor")) return;
  if (context.parts.length > 1) { reportPage(context, context.parts[1]); return; }
  heading(context, "Audit reports");
  const alert = h("p", { role: "alert", id: "reports-error" });
  const status = h("p", { role: "status", id: "reports-status" }, "Loading reports…");
  const { element, body } = table("reports-table", "Reports, newest period first",
    ["Report", "Kind", "Period", "Status", "Version", "Findings", "Generated"], { numeric: [4, 5] });
  const more = h("button", { id: "reports-more", type: "button", class: "secondary", hidden: true }, "Load more");

  let filters = {}, next = null, asked = 0;
  const load = async cursor => {
    const ask = ++asked; // a newer filter's answer wins over an older one still on its way
    more.disabled = true;
    try {
      const answer = await api(withQuery("/v1/reports", { ...filters, limit: PAGE_SIZE, after: cursor }));
      if (!context.live() || ask !== asked) return;
      if (!cursor) body.replaceChildren();
      for (const report of answer.reports) body.append(reportRow(report));
      next = answer.next ?? null;
      const shown = body.rows.length;
      status.textContent = shown === 0 ? "No report matches these filters." : `${number(shown)} report${shown === 1 ? "" : "s"} shown${next ? "; more are older" : ""}.`;
      more.hidden = !next;
      firstPaint(context);
    } catch (error) {
      if (context.live() && ask === asked) { status.textContent = ""; showProblem(alert, error); }
    } finally {
      more.disabled = false;
    }
  };
  // Filtering redraws the rows only, so the filters keep the focus; the address follows for bookmarks and Back.
  const filter = chosen => {
    filters = chosen;
    alert.textContent = "";
    status.textContent = "Loading reports…";
    load(null);
  };
  more.addEventListener("click", () => { alert.textContent = ""; load(next); });
  context.main.append(filterForm(context.query, filter), alert, h("div", { class: "card" }, element, status, more), generateForm(context));
  filter(Object.fromEntries(REPORT_FILTERS.map(name => [name, context.query.get(name) || ""])));
};

function reportRow(report) {
  const link = h("a", { href: `#/reports/${encodeURIComponent(report.report_id)}` }, report.report_id);
  return h("tr", { dataset: { reportId: report.report_id } },
    h("th", { scope: "row" }, link),
    h("td", {}, report.kind),
    h("td", {}, when(report.period.from), " – ", when(report.period.to)),
    h("td", {}, statusBadge(report.status)),
    numberCell(report.version),
    numberCell(report.findings),
    h("td", {}, when(report.generated_at)));
}

function statusBadge(status) {
  return h("span", { class: `badge ${status === "final" ? "ok" : "warn"}` }, status);
}

/// The filters live in the address too (#/reports?kind=day…), so a filtered list can be bookmarked.
function filterForm(query, filter) {
  const select = (id, label, options, value) => h("div", { class: "field" },
    h("label", { for: id }, label),
    h("select", { id }, h("option", { value: "" }, "any"), options.map(option => h("option", { value: option, selected: option === value }, option))));
  const date = (id, label, value) => h("div", { class: "field" },
    h("label", { for: id }, label), h("input", { id, type: "date", value }));
  const form = h("form", { class: "card row", id: "reports-filters", "aria-label": "Filter reports" },
    select("filter-kind", "Kind", REPORT_KINDS, query.get("kind") || ""),
    select("filter-status", "Status", ["final", "provisional"], query.get("status") || ""),
    date("filter-from", "Period ends after", query.get("from") || ""),
    date("filter-to", "Period starts before", query.get("to") || ""),
    h("button", { type: "submit", id: "filter-apply" }, "Apply filters"));
  const apply = event => {
    event.preventDefault();
    const chosen = Object.fromEntries(REPORT_FILTERS.map(name => [name, $(`#filter-${name}`, form).value]));
    history.replaceState(null, "", `${location.pathname}${location.search}#${withQuery("/reports", chosen)}`);
    filter(chosen);
  };
  form.addEventListener("submit", apply);
  // Selects apply at once; dates wait for the button (typing a date changes it several times).
  for (const id of ["filter-kind", "filter-status"]) $(`#${id}`, form).addEventListener("change", apply);
  return form;
}

/// On-demand (provisional) report over a date range: POST /v1/reports, the wait counted, then the new report opened.
function generateForm(context) {
  const status = h("p", { role: "status", id: "generate-status" });
  const alert = h("p", { role: "alert", id: "generate-error" });
  const submit = h("button", { type: "submit", id: "generate-submit" }, "Generate report");
  const form = h("form", { class: "card stack", id: "generate", "aria-labelledby": "generate-heading" },
    h("h2", { id: "generate-heading" }, "On-demand report"),
    h("p", { class: "note" }, "A provisional report for any range of up to 92 days, generated now and stored for good."),
    h("div", { class: "row" },
      h("div", { class: "field" }, h("label", { for: "generate-from" }, "From (inclusive)"), h("input", { id: "generate-from", type: "date" })),
      h("div", { class: "field" }, h("label", { for: "generate-to" }, "To (exclusive)"), h("input", { id: "generate-to", type: "date" })),
      submit),
    status, alert);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    alert.textContent = "";
    const from = $("#generate-from").value, to = $("#generate-to").value;
    if (!from || !to) { alert.textContent = "Choose both dates."; return; }
    submit.disabled = true;
    const started = performance.now();
    const tick = () => { status.textContent = `Generating the report… ${Math.round((performance.now() - started) / 1000)} s`; };
    tick();
    const timer = setInterval(tick, 1000);
    try {
      const created = await api("/v1/reports", { method: "POST", body: { from, to } });
      status.textContent = `Generated ${created.report_id} in ${((performance.now() - started) / 1000).toFixed(1)} s.`;
      if (context.live()) location.hash = `/reports/${encodeURIComponent(created.report_id)}?v=${created.version}`;
    } catch (error) {
      status.textContent = "";
      showProblem(alert, error);
    } finally {
      clearInterval(timer);
      submit.disabled = false;
    }
  });
  return form;
}

// ---- #/reports/<id>?v=N: one report ----

async function reportPage(context, id) {
  const requested = context.query.get("v");
  heading(context, `Report ${id}${requested ? ` · version ${requested}` : ""}`);
  const alert = h("p", { role: "alert", id: "report-error" });
  const verify = h("p", { role: "status", id: "report-verify" }, "Checking the signature…");
  const bundleStatus = h("p", { role: "status", id: "report-bundle-status" });
  const bundle = h("button", { type: "button", id: "report-bundle", disabled: true }, "Download the evidence bundle");
  const versions = h("ul", { id: "report-versions", class: "versions" }, h("li", {}, "Loading versions…"));
  const body = h("div", { id: "report-body" }, h("p", { role: "status" }, "Loading the report…"));
  context.main.append(alert,
    h("section", { class: "card stack", "aria-labelledby": "integrity-heading" },
      h("h2", { id: "integrity-heading" }, "Signature and evidence"), verify,
      h("div", { class: "row" }, bundle), bundleStatus),
    h("section", { class: "card", "aria-labelledby": "versions-heading" }, h("h2", { id: "versions-heading" }, "Versions"), versions),
    body);

  let bytes, report;
  try {
    bytes = await api(withQuery(`/v1/reports/${encodeURIComponent(id)}`, { version: requested }), { as: "bytes" });
    report = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    if (!context.live()) return;
    body.replaceChildren();
    verify.textContent = "";
    showProblem(alert, error);
    return;
  }
  if (!context.live()) return;
  const version = report.version;
  body.replaceChildren(...renderReport(report));
  firstPaint(context);

  bundle.disabled = false;
  bundle.addEventListener("click", async () => {
    bundle.disabled = true;
    bundleStatus.textContent = "Preparing the bundle…";
    try {
      const saved = await download(withQuery(`/v1/reports/${encodeURIComponent(id)}/bundle`, { version }), `callaudit-${id}-v${version}.tar`);
      bundleStatus.textContent = `Downloaded ${saved.name} (${number(saved.size)} bytes).`;
    } catch (error) {
      bundleStatus.textContent = "";
      showProblem(alert, error);
    } finally {
      bundle.disabled = false;
    }
  });

  // Independent of each other: drawn as each answers.
  checkSignature(id, version, bytes).then(result => {
    if (!context.live()) return;
    verify.replaceChildren(result.ok
      ? h("span", { class: "verified" }, `✓ Signature verified · key ${result.keyID}`)
      : h("span", { class: "not-verified" }, `✗ Signature NOT verified${result.keyID ? ` · key ${result.keyID}` : ""}: ${result.why}`));
  });
  api(`/v1/reports/${encodeURIComponent(id)}/versions`).then(answer => {
    if (context.live()) versions.replaceChildren(...answer.versions.map(entry => versionItem(id, entry, version)));
  }).catch(error => {
    if (!context.live()) return;
    versions.replaceChildren(h("li", {}, h("span", { role: "alert" })));
    showProblem($("[role=alert]", versions), error);
  });
}

function versionItem(id, entry, shown) {
  const current = entry.version === shown;
  return h("li", {},
    h("a", { href: `#/reports/${encodeURIComponent(id)}?v=${entry.version}`, "aria-current": current ? "page" : null },
      `Version ${entry.version}`),
    ` · ${entry.status} · `, when(entry.generated_at), ` · ${number(entry.findings)} findings · key ${entry.key_id}`,
    current ? " (shown)" : null);
}

/// Checks the report's exact bytes against its signature and the published key, in this browser.
async function checkSignature(id, version, bytes) {
  let keyID = null;
  try {
    if (!globalThis.crypto || !crypto.subtle) return { ok: false, why: "this browser offers no WebCrypto here (it needs HTTPS or localhost)" };
    const signature = await api(withQuery(`/v1/reports/${encodeURIComponent(id)}/signature`, { version }));
    keyID = signature.key_id;
    const keys = await api("/v1/keys");
    const key = keys.keys.find(candidate => candidate.key_id === keyID);
    if (!key) return { ok: false, keyID, why: "the signing key is not among the published keys" };
    const publicKey = await crypto.subtle.importKey("spki", pemBytes(key.public_key_pem), { name: "Ed25519" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, base64Bytes(signature.signature), bytes);
    return ok ? { ok, keyID } : { ok, keyID, why: "the signature does not match the report's bytes" };
  } catch (error) {
    if (error instanceof SignedOut) return { ok: false, keyID, why: "signed out" };
    const why = error instanceof Problem ? `${error.title}: ${error.detail}` : `${error.name}: ${error.message}`;
    return { ok: false, keyID, why };
  }
}

function base64Bytes(text) {
  return Uint8Array.from(atob(text), character => character.charCodeAt(0));
}

function pemBytes(pem) {
  return base64Bytes(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""));
}

// ---- the report's sections, from its signed JSON ----

function renderReport(report) {
  // Gaps in the evidence come first when there are any: they qualify everything below.
  const gapsFirst = (report.gaps_in_evidence || []).length > 0;
  return [
    gapsFirst ? gapsSection(report.gaps_in_evidence) : null,
    section("report-summary", "Summary", summaryFacts(report)),
    section("report-changes-section", "Changes from the previous version", changesList(report.changes)),
    section("report-daily", "Day by day", dailyTable(report.daily || [])),
    section("report-findings-section", "Findings", findingsTable(report.findings || [])),
    section("report-access", "Access review", accessTable(report.access_review || [])),
    section("report-retention", "Retention and deletion", retentionFacts(report.retention || {})),
    gapsFirst ? null : gapsSection(report.gaps_in_evidence),
  ].filter(Boolean);
}

function section(id, title, ...content) {
  return h("section", { class: "card", id, "aria-labelledby": `${id}-heading` }, h("h2", { id: `${id}-heading` }, title), content);
}

function summaryFacts(report) {
  const summary = report.summary || {};
  const seal = report.event_store?.seal;
  const requests = summary.subject_requests || {};
  return [
    facts([
      ["Report", report.report_id],
      ["Kind", report.kind],
      ["Period", [when(report.period?.from), " – ", when(report.period?.to), ` · the report's time zone: ${report.period?.time_zone ?? "UTC"}`]],
      ["Status", statusBadge(report.status)],
      ["Version", number(report.version)],
      ["Generated", when(report.generated_at)],
      ["Policy", `${report.policy?.version} (${report.policy?.hash?.slice(0, 12)}…)`],
      ["Event store", `through position ${number(report.event_store?.through_position)}, ${number(report.event_store?.events_applied)} events applied`],
      ["Seal", seal ? `seal ${seal.seal}, through position ${number(seal.through_position)}, key ${seal.key_id}` : "none yet"],
      ["Calls", number(summary.calls)],
      ["Recorded calls", number(summary.recorded_calls)],
      ["Findings", number(summary.findings)],
      ["Deletions", summary.deletions ? `${number(summary.deletions.on_time)} on time, ${number(summary.deletions.late)} late of ${number(summary.deletions.total)}` : undefined],
      ["Subject requests", summary.subject_requests ? `${number(requests.received)} received, ${number(requests.answered)} answered, ${number(requests.overdue)} overdue` : undefined],
      ["Open legal holds", summary.open_holds === undefined ? undefined : number(summary.open_holds)],
    ]),
    (summary.compliance_by_regime || []).length ? complianceTable(summary.compliance_by_regime) : null,
  ];
}

function complianceTable(regimes) {
  const { element, body } = table(null, "Compliance by consent regime", ["Regime", "Recorded calls", "Compliant calls", "Compliance"], { numeric: [1, 2, 3] });
  for (const regime of regimes) {
    body.append(row([h("th", { scope: "row" }, regime.regime), numberCell(regime.recorded_calls), numberCell(regime.compliant_calls),
      h("td", { class: "num" }, percent(regime.compliance_rate))]));
  }
  return element;
}

function dailyTable(days) {
  const { element, body } = table("report-daily-table", null, ["Day", "Calls", "Recorded", "Compliant", "Compliance"], { numeric: [1, 2, 3, 4] });
  for (const entry of days) {
    body.append(row([h("th", { scope: "row" }, day(entry.day)), numberCell(entry.calls), numberCell(entry.recorded_calls),
      numberCell(entry.compliant_calls), h("td", { class: "num" }, percent(entry.compliance_rate))]));
  }
  return element;
}

function findingsTable(findings) {
  if (findings.length === 0) return h("p", { id: "report-findings" }, "No findings in this period.");
  const { element, body } = table("report-findings", `${number(findings.length)} findings`,
    ["Time", "Rule", "Severity", "Status", "Subject", "Jurisdiction", "Citation", "Detail", "Evidence"]);
  for (const finding of findings) {
    const subject = [["call", finding.call_id], ["recording", finding.recording_id], ["party", finding.party_id], ["request", finding.request_id]]
      .filter(([, value]) => value).map(([label, value]) => h("div", {}, `${label} `, h("code", {}, value)));
    body.append(row([
      when(finding.occurred_at), h("code", {}, finding.rule), finding.severity, finding.status, h("td", {}, subject),
      finding.jurisdiction ?? "–", finding.citation, h("td", { class: "wrap" }, finding.detail),
      h("td", {}, (finding.evidence || []).map(event => h("div", {}, h("code", {}, event)))),
    ]));
  }
  return element;
}

function changesList(changes) {
  if (!changes) return h("p", { id: "report-changes" }, "This is the first version: nothing to compare with.");
  const list = (title, items) => h("div", {},
    h("h3", {}, `${title} (${items.length})`),
    items.length === 0 ? h("p", { class: "note" }, "none")
      : h("ul", {}, items.map(item => h("li", {}, h("code", {}, item.rule), " · ", when(item.occurred_at), " · ", h("code", {}, item.finding_key)))));
  return h("div", { id: "report-changes" },
    h("p", {}, `Compared with version ${changes.previous_version}:`),
    list("Raised", changes.raised || []), list("Withdrawn", changes.withdrawn || []), list("Changed", changes.changed || []));
}

function gapsSection(gaps) {
  if (!gaps || gaps.length === 0) {
    return section("report-gaps", "Gaps in the evidence", h("p", {}, gaps ? "None recorded: CallAudit received every message of the period."
      : "This report was issued before reports listed gaps in the evidence."));
  }
  const { element, body } = table("report-gaps-table", null,
    ["Partition", "Offsets lost", "Messages", "Why", "Window", "Accepted by", "Reason"], { numeric: [2] });
  for (const gap of gaps) {
    body.append(row([
      `${gap.topic}[${gap.partition}]`, `${gap.lost_from_offset} – ${gap.lost_to_offset - 1}`, numberCell(gap.lost_messages),
      gap.kind === "below_low_watermark" ? "retention removed them unread" : "the stored position was past the partition's end",
      h("td", {}, when(gap.since), " – ", when(gap.accepted_at)), `${gap.accepted_by?.name} (${gap.accepted_by?.role})`,
      h("td", { class: "wrap" }, gap.reason),
    ]));
  }
  return section("report-gaps", "Gaps in the evidence",
    h("p", { class: "notice" }, `${gaps.length} gap${gaps.length === 1 ? "" : "s"} in the evidence: messages CallAudit never received.`), element);
}

function accessTable(entries) {
  if (entries.length === 0) return h("p", {}, "No recording was accessed in this period.");
  const { element, body } = table("report-access-table", null,
    ["Actor", "Role", "Role allowed", "Accesses", "Recordings", "Shares", "Flagged", "Purposes"], { numeric: [3, 4, 5, 6] });
  for (const entry of entries) {
    body.append(row([
      h("code", {}, entry.actor_id), entry.role, entry.role_allowed ? "yes" : h("span", { class: "badge bad" }, "no"),
      numberCell(entry.accesses), numberCell(entry.recordings), numberCell(entry.shares), numberCell(entry.flagged),
      (entry.purposes || []).join(", "),
    ]));
  }
  return element;
}

function retentionFacts(retention) {
  const deletions = retention.deletions || [];
  let deletionTable = null;
  if (deletions.length) {
    const { element, body } = table(null, "Deletions by method and reason", ["Method", "Reason", "Count"], { numeric: [2] });
    for (const entry of deletions) body.append(row([entry.method, entry.reason, numberCell(entry.count)]));
    deletionTable = element;
  }
  return [facts([
    ["Retention", retention.retention_days === undefined ? undefined : `${retention.retention_days} days`],
    ["Due for deletion in the period", retention.due_in_period === undefined ? undefined : number(retention.due_in_period)],
    ["Deleted on time", retention.deleted_on_time === undefined ? undefined : number(retention.deleted_on_time)],
    ["Deleted late", retention.deleted_late === undefined ? undefined : number(retention.deleted_late)],
    ["Not deleted", retention.not_deleted === undefined ? undefined : number(retention.not_deleted)],
    ["Under legal hold when due", retention.held_at_due === undefined ? undefined : number(retention.held_at_due)],
  ]), deletionTable];
}

// ---- #/seals: the chain head and the seals, newest first ----

pages.seals = async context => {
  if (!allowed(context, "auditor")) return;
  heading(context, "Seals over the event log");
  const alert = h("p", { role: "alert", id: "seals-error" });
  const head = h("div", { id: "seals-head", class: "card" }, h("p", { role: "status" }, "Loading the chain head…"));
  const status = h("p", { role: "status", id: "seals-status" });
  const { element, body } = table("seals-table", "Seals, newest first",
    ["Seal", "Events", "Positions", "Sealed", "Merkle root", "Key"], { numeric: [1] });
  const more = h("button", { id: "seals-more", type: "button", class: "secondary", hidden: true }, "Load older seals");
  context.main.append(alert, head, h("div", { class: "card" }, element, status, more));

  api("/v1/seals/head").then(answer => {
    if (!context.live()) return;
    const seal = answer.head;
    head.replaceChildren(h("h2", {}, "Chain head"), seal
      ? facts([["Seals", number(answer.count)], ["Newest", `seal ${seal.seal}`], ["Sealed", when(seal.body?.sealed_at)],
        ["Through position", number(seal.body?.through?.position)], ["Merkle root", h("code", {}, seal.body?.merkle_root)],
        ["SHA-256 of its body", h("code", {}, seal.sha256)], ["Key", seal.body?.key_id]])
      : h("p", {}, "No seal yet: the log has not been sealed."));
  }).catch(error => { if (context.live()) { head.replaceChildren(); showProblem(alert, error); } });

  let before = null;
  const load = async () => {
    more.disabled = true;
    try {
      const answer = await api(withQuery("/v1/seals", { order: "newest", limit: PAGE_SIZE, before }));
      if (!context.live()) return;
      for (const seal of answer.seals) body.append(sealRow(seal));
      const last = answer.seals[answer.seals.length - 1];
      before = last ? last.seal : null;
      more.hidden = answer.seals.length < PAGE_SIZE || !before || before <= 1;
      status.textContent = body.rows.length === 0 ? "No seal yet." : `${number(body.rows.length)} seals shown.`;
      firstPaint(context);
    } catch (error) {
      if (context.live()) showProblem(alert, error);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", load);
  load();
};

function sealRow(seal) {
  const body = seal.body || {};
  return h("tr", { dataset: { seal: seal.seal } },
    h("th", { scope: "row" }, `seal ${seal.seal}`),
    numberCell(body.events),
    h("td", {}, `${number(body.after?.position)} – ${number(body.through?.position)}`),
    h("td", {}, when(body.sealed_at)),
    h("td", {}, h("code", { title: body.merkle_root }, `${(body.merkle_root || "").slice(0, 16)}…`)),
    h("td", {}, body.key_id));
}
