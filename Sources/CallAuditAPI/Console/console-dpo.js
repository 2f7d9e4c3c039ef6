// The DPO's pages: data-subject requests by deadline (no personal data in
// the list), the form that opens one, and one request's page with its
// history and actions (extend, close, export, erase). Personal data is shown
// only on the request's own page, and never put in the address.

const REQUEST_TYPES = ["access", "erasure"];
const REGIMES = ["gdpr", "ccpa"];
const OUTCOMES = ["answered", "rejected", "withdrawn"];
const IDENTIFIERS = [
  ["phone", "request-phone", "Phone number", "tel", "as the person gave it, e.g. +1 (415) 555-0100"],
  ["email", "request-email", "E-mail address", "email", "any case"],
  ["customer_id", "request-customer-id", "Customer id", "text", ""],
  ["employee_id", "request-employee-id", "Employee id", "text", ""],
];

// ---- #/requests: by deadline ----

pages.requests = context => {
  if (!allowed(context, "dpo")) return;
  if (context.parts[1] === "new") { newRequestPage(context); return; }
  if (context.parts.length > 1) { requestPage(context, context.parts[1]); return; }
  heading(context, "Data-subject requests");
  const alert = h("p", { role: "alert", id: "requests-error" });
  const status = h("p", { role: "status", id: "requests-status" }, "Loading requests…");
  const { element, body } = table("requests-table", "Open requests by deadline, soonest first; then closed ones, newest first",
    ["Request", "Type", "Regime", "Status", "Received", "Deadline", "Due"]);
  const more = h("button", { id: "requests-more", type: "button", class: "secondary", hidden: true }, "Load more");
  context.main.append(
    h("p", {}, h("a", { href: "#/requests/new" }, "Open a new request")),
    alert, h("div", { class: "card" }, element, status, more));

  let next = null;
  const load = async cursor => {
    more.disabled = true;
    try {
      const answer = await api(withQuery("/v1/requests", { order: "deadline", limit: PAGE_SIZE, after: cursor }));
      if (!context.live()) return;
      const now = Date.now();
      for (const request of answer.requests) body.append(requestRow(request, now));
      next = answer.next ?? null;
      const shown = body.rows.length;
      const overdue = body.querySelectorAll("tr.overdue").length;
      status.textContent = shown === 0 ? "No request yet."
        : `${number(shown)} request${shown === 1 ? "" : "s"} shown, ${number(overdue)} overdue${next ? "; more below" : ""}.`;
      more.hidden = !next;
      firstPaint(context);
    } catch (error) {
      if (context.live()) { status.textContent = ""; showProblem(alert, error); }
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", () => { alert.textContent = ""; load(next); });
  load(null);
};

/// One request in the list: its id, kind and dates, never the person.
function requestRow(request, now) {
  const overdue = request.overdue === true;
  return h("tr", { dataset: { requestId: request.request_id }, class: overdue ? "overdue" : null },
    h("th", { scope: "row" }, h("a", { href: `#/requests/${encodeURIComponent(request.request_id)}` }, request.request_id)),
    h("td", {}, request.type),
    h("td", {}, request.regime.toUpperCase()),
    h("td", {}, request.status, request.extended ? " (extended)" : ""),
    h("td", {}, when(request.received_at)),
    h("td", {}, when(request.deadline)),
    h("td", {}, dueText(request, now)));
}

/// How the deadline stands, in words (never by colour alone).
function dueText(request, now) {
  if (request.overdue) return h("span", { class: "badge bad" }, "overdue");
  if (request.status !== "open") return request.closed_at ? ["closed ", when(request.closed_at)] : "closed";
  if (!request.deadline) return "–";
  const left = new Date(request.deadline).getTime() - now;
  if (left < 0) return h("span", { class: "badge bad" }, "past the deadline");
  const days = Math.floor(left / 86_400_000);
  const text = days < 1 ? "due today" : `${days} day${days === 1 ? "" : "s"} left`;
  return days <= 3 ? h("span", { class: "badge warn" }, text) : text;
}

// ---- #/requests/new ----

function newRequestPage(context) {
  heading(context, "Open a data-subject request");
  const select = (id, label, options) => h("div", { class: "field" },
    h("label", { for: id }, label), h("select", { id }, options.map(option => h("option", { value: option }, option))));
  const error = h("p", { role: "alert", id: "request-error" });
  const submit = h("button", { type: "submit", id: "request-submit" }, "Open the request");
  // autocomplete off on the form: the browser must not offer the DPO's own details for another person's.
  const form = h("form", { id: "request-form", class: "card stack narrow", novalidate: true, autocomplete: "off" },
    h("div", { class: "row" },
      select("request-type", "Type", REQUEST_TYPES),
      h("div", { class: "field" }, h("label", { for: "request-regime" }, "Regime"),
        h("select", { id: "request-regime" }, h("option", { value: "gdpr" }, "GDPR"), h("option", { value: "ccpa" }, "CCPA")))),
    h("fieldset", { class: "stack" },
      h("legend", {}, "Who the person is: at least one identifier, as they gave it"),
      IDENTIFIERS.map(([, id, label, type, hint]) => h("div", { class: "field" },
        h("label", { for: id }, label, hint ? h("span", { class: "note" }, ` (${hint})`) : null),
        h("input", { id, type, spellcheck: "false" })))),
    h("div", { class: "field" },
      h("label", { for: "request-verified-by" }, "How their identity was verified (the method, not their details)"),
      h("input", { id: "request-verified-by", type: "text", autocomplete: "off", placeholder: "e.g. call-back to the number on file" })),
    submit, error);
  context.main.append(form);

  form.addEventListener("submit", async event => {
    event.preventDefault();
    error.textContent = "";
    // Identifiers go as typed: the API normalises them, and says what it cannot read.
    const subject = {};
    for (const [name, id] of IDENTIFIERS) {
      const value = $(`#${id}`).value;
      if (value.trim()) subject[name] = value;
    }
    submit.disabled = true;
    try {
      const opened = await api("/v1/requests", {
        method: "POST",
        body: { type: $("#request-type").value, regime: $("#request-regime").value, subject, verified_by: $("#request-verified-by").value },
      });
      form.reset();
      if (context.live()) location.hash = `/requests/${encodeURIComponent(opened.request_id)}`;
    } catch (problem) {
      showProblem(error, problem);
    } finally {
      submit.disabled = false;
    }
  });
}

// ---- #/requests/<id> ----

/// `notice`: what the last action did, shown above the request (the erasure's result stays in view).
async function requestPage(context, id, notice = {}) {
  heading(context, `Request ${id}`);
  const alert = h("p", { role: "alert", id: "action-error" });
  const status = h("p", { role: "status", id: "action-status" }, notice.status || "Loading the request…");
  context.main.append(status, alert);
  if (notice.erased) context.main.append(erasureResult(notice.erased));
  let request;
  try {
    request = await api(`/v1/requests/${encodeURIComponent(id)}`);
  } catch (error) {
    if (context.live()) { status.textContent = ""; showProblem(alert, error); }
    return;
  }
  if (!context.live()) return;
  if (!notice.status) status.textContent = "";
  const redraw = next => {
    if (!context.live()) return;
    context.main.replaceChildren();
    requestPage(context, id, next);
    const title = $("h1", context.main);
    if (title) title.focus();
  };
  context.main.append(
    h("section", { class: "card", "aria-labelledby": "request-facts-heading" },
      h("h2", { id: "request-facts-heading" }, "The request"), requestFacts(request)),
    h("section", { class: "card", "aria-labelledby": "request-subject-heading" },
      h("h2", { id: "request-subject-heading" }, "The person"), subjectFacts(request)),
    h("section", { class: "card", "aria-labelledby": "request-actions-heading" },
      h("h2", { id: "request-actions-heading" }, "Actions"), actions(request, alert, status, redraw)),
    h("section", { class: "card", "aria-labelledby": "request-history-heading" },
      h("h2", { id: "request-history-heading" }, "What happened"), historyList(request.history)));
  firstPaint(context);
}

function requestFacts(request) {
  return facts([
    ["Type", request.type],
    ["Regime", request.regime.toUpperCase()],
    ["Status", request.status],
    ["Due", dueText(request, Date.now())],
    ["Received", when(request.received_at)],
    ["Deadline", [when(request.deadline), request.extended ? " (extended)" : ""]],
    ["Extension", request.extension ? [when(request.extension.at), `: ${request.extension.reason}`] : undefined],
    ["Channel", request.channel],
    ["Opened by", request.opened_by],
    ["Identity verified by", request.verified_by],
    ["Closed", request.closed_at ? [when(request.closed_at), request.closed_by ? ` by ${request.closed_by}` : ""] : undefined],
    ["Exports", request.exports?.length ? request.exports.map(entry => h("div", {}, when(entry.at), " · manifest ", h("code", {}, entry.manifest_sha256.slice(0, 16)), "…")) : undefined],
    ["Shared identifiers", request.shared_identifiers?.length
      ? `${request.shared_identifiers.join(", ")}: shared by several persons, so they name none of them; open a request with a customer or employee id` : undefined],
  ]);
}

/// The person's identifiers: personal data, on this page only.
function subjectFacts(request) {
  if (request.subject_erased || !request.subject) {
    return h("div", { id: "request-subject" }, h("p", {}, h("strong", {}, "Erased."), " The person's identifiers can no longer be read."));
  }
  const labels = Object.fromEntries(IDENTIFIERS.map(([name, , label]) => [name, label]));
  return h("div", { id: "request-subject" },
    facts(Object.entries(request.subject).map(([name, value]) => [labels[name] || name, typeof value === "string" ? value : JSON.stringify(value)])));
}

function historyList(history) {
  if (!Array.isArray(history)) return h("p", { id: "request-history" }, "This service does not list the request's history.");
  return h("ol", { id: "request-history", class: "history" }, history.map(entry => h("li", {},
    when(entry.at), " · ", h("code", {}, entry.type),
    entry.actor ? ` · ${entry.actor.name} (${[entry.actor.role, entry.actor.channel].filter(Boolean).join(", ")})` : "",
    entry.note ? ` · ${entry.note}` : "")));
}

// ---- the actions ----

function actions(request, alert, status, redraw) {
  const open = request.status === "open";
  const id = request.request_id;
  const path = `/v1/requests/${encodeURIComponent(id)}`;
  const run = async (button, work) => {
    alert.textContent = "";
    button.disabled = true;
    try { await work(); } catch (error) { showProblem(alert, error); } finally { button.disabled = false; }
  };
  const parts = [];

  if (open && !request.extended) {
    const submit = h("button", { type: "submit", id: "extend-submit" }, "Extend the deadline");
    const form = h("form", { class: "stack", "aria-labelledby": "extend-heading" },
      h("h3", { id: "extend-heading" }, "Extend (once)"),
      h("label", { for: "extend-reason" }, `Why (${request.regime === "ccpa" ? "CCPA: 45 more days" : "GDPR: two more months"})`),
      h("input", { id: "extend-reason", type: "text", autocomplete: "off" }), submit);
    form.addEventListener("submit", event => {
      event.preventDefault();
      run(submit, async () => {
        await api(`${path}/extend`, { method: "POST", body: { reason: $("#extend-reason").value } });
        redraw({ status: "Deadline extended." });
      });
    });
    parts.push(form);
  } else if (open) {
    parts.push(h("p", { class: "note" }, "The deadline was extended already; it can be extended only once."));
  }

  if (open) {
    const submit = h("button", { type: "submit", id: "close-submit" }, "Close the request");
    const form = h("form", { class: "stack", "aria-labelledby": "close-heading" },
      h("h3", { id: "close-heading" }, "Close"),
      h("label", { for: "close-outcome" }, "Outcome"),
      h("select", { id: "close-outcome" }, OUTCOMES.map(outcome => h("option", { value: outcome }, outcome))), submit);
    form.addEventListener("submit", event => {
      event.preventDefault();
      run(submit, async () => {
        const outcome = $("#close-outcome").value;
        await api(`${path}/close`, { method: "POST", body: { outcome } });
        redraw({ status: `Closed as ${outcome}.` });
      });
    });
    parts.push(form);
  }

  if (request.type === "access" && !request.subject_erased) {
    const button = h("button", { type: "button", id: "export-download" }, "Download the access export");
    button.addEventListener("click", () => run(button, async () => {
      status.textContent = "Preparing the export…";
      const saved = await download(`${path}/export`, `${id}-export.zip`);
      status.textContent = `Downloaded ${saved.name} (${number(saved.size)} bytes). The hand-over is recorded.`;
    }));
    parts.push(h("div", { class: "stack" }, h("h3", {}, "Access export"),
      h("p", { class: "note" }, "A ZIP with export.json, CSVs, a readable summary and a signed manifest."), h("div", {}, button)));
  }

  if (request.type === "erasure" && !request.subject_erased) parts.push(eraseAction(request, alert, redraw));

  if (parts.length === 0) parts.push(h("p", {}, `Nothing left to do: the request is ${request.status}.`));
  return h("div", { class: "actions" }, parts);
}

/// Erasure cannot be undone: a dialog where the Erase button stays disabled until the request id is typed.
function eraseAction(request, alert, redraw) {
  const id = request.request_id;
  const confirm = h("input", { id: "erase-confirm-id", type: "text", autocomplete: "off", spellcheck: "false" });
  const submit = h("button", { type: "submit", id: "erase-submit", class: "danger", disabled: true }, "Erase");
  const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
  const dialogError = h("p", { role: "alert", id: "erase-error" });
  const form = h("form", { method: "dialog", class: "stack" },
    h("h2", { id: "erase-heading" }, "Erase this person?"),
    h("p", { id: "erase-description" },
      "This destroys the person's key and index entries and shreds the dead letters that named them. It cannot be undone. " +
      "Recordings under a legal hold are held back."),
    h("label", { for: "erase-confirm-id" }, "Type the request id ", h("code", {}, id), " to confirm"),
    confirm, dialogError, h("div", { class: "row" }, submit, cancel));
  const dialog = h("dialog", { id: "erase-dialog", "aria-labelledby": "erase-heading", "aria-describedby": "erase-description" }, form);
  confirm.addEventListener("input", () => { submit.disabled = confirm.value.trim() !== id; });
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async event => {
    event.preventDefault();
    if (confirm.value.trim() !== id) return;
    submit.disabled = true;
    dialogError.textContent = "";
    try {
      const result = await api(`/v1/requests/${encodeURIComponent(id)}/erase`, { method: "POST" });
      dialog.close();
      redraw({ status: "Erased.", erased: result });
    } catch (error) {
      showProblem(dialogError, error);
      submit.disabled = false;
    }
  });
  const open = h("button", { type: "button", id: "erase-open", class: "danger" }, "Erase the person…");
  open.addEventListener("click", () => {
    alert.textContent = "";
    confirm.value = "";
    submit.disabled = true;
    dialog.showModal();
    confirm.focus();
  });
  return h("div", { class: "stack" }, h("h3", {}, "Erase"), h("div", {}, open), dialog);
}

/// What an erasure did: counts, recordings held back (with their holds), recordings for the recording system to delete.
function erasureResult(result) {
  const held = result.held_back || [];
  const toDelete = result.recordings_to_delete || [];
  let heldTable = h("p", {}, "No recording was held back.");
  if (held.length) {
    const { element, body } = table("erase-held-back", "Held back by legal holds", ["Recording", "Holds", "Reason"]);
    for (const entry of held) body.append(row([h("code", {}, entry.recording_id), entry.hold_ids.join(", "), entry.reason]));
    heldTable = element;
  }
  return h("section", { id: "erase-result", class: "card", role: "status", "aria-labelledby": "erase-result-heading" },
    h("h2", { id: "erase-result-heading" }, "What was erased"),
    facts([
      ["Persons erased", number(result.persons)],
      ["Index entries erased", number(result.index_entries)],
      ["Dead letters shredded", number(result.dead_letters)],
      ["Export files deleted", number(result.export_files_deleted)],
      ["Recordings held back", number(held.length)],
      ["Recordings for the recording system to delete", toDelete.length
        ? toDelete.map(recording => h("div", {}, h("code", {}, recording))) : "none"],
    ]),
    heldTable);
}
