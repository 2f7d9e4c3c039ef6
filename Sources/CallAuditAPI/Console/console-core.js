// The /console of the auditor and the DPO: what every page shares.
// Sign-in, the API call, the hash router, the DOM and date helpers.
// Served as one script with console-auditor.js and console-dpo.js after it.
//
// The token comes from the address's #token=… fragment (which browsers
// never send to the server) or from the sign-in form, and is kept in this
// tab's sessionStorage only. Every value from the API is written with
// textContent or DOM attributes: nothing a producer sent is parsed as HTML.
"use strict";

const TOKEN_KEY = "callaudit.token";
const PAGE_SIZE = 50;

/// What the router shows for each first path segment; the section files fill it.
const pages = {};
/// Who is signed in: {name, role}, from GET /v1/whoami.
let identity = null;
/// Bumped on every navigation, so a page whose data arrives after the person moved on draws nothing.
let generation = 0;

function $(selector, root = document) { return root.querySelector(selector); }

/// An element with attributes and children; strings become text nodes, never markup.
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

// ---- dates: the viewer's time zone, UTC on hover ----

const localFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
});
const utcFormat = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "medium", timeZone: "UTC" });
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

/// A <time> for an RFC 3339 instant: local time shown, UTC in the title.
function when(timestamp) {
  if (!timestamp) return h("span", { class: "note" }, "–");
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return String(timestamp);
  return h("time", { datetime: timestamp, title: `${utcFormat.format(date)} UTC` }, localFormat.format(date));
}

/// A <time> for a calendar day (YYYY-MM-DD), which has no time zone of its own.
function day(text) {
  const date = new Date(`${text}T00:00:00Z`);
  if (Number.isNaN(date.getTime())) return String(text);
  return h("time", { datetime: text, title: text }, dayFormat.format(date));
}

function number(value) {
  if (value === null || value === undefined) return "–";
  return typeof value === "number" ? value.toLocaleString() : String(value);
}

function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(1)} %`;
}

// ---- the API ----

/// An answer other than 2xx, as the API's problem+json says it.
class Problem extends Error {
  constructor(status, title, detail, retryAfter) {
    super(detail || title || `HTTP ${status}`);
    this.status = status;
    this.title = title || `HTTP ${status}`;
    this.detail = detail || "";
    this.retryAfter = retryAfter;
  }
}

/// The person's token was refused: back to the sign-in form, nothing else to do.
class SignedOut extends Error {}

/// Calls the API with the token. `as`: "json" (default), "bytes" (ArrayBuffer) or "response".
async function api(path, { method = "GET", body, as = "json" } = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) { showSignIn(); throw new SignedOut(); }
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  if (response.status === 401) {
    const problem = await problemOf(response);
    sessionStorage.removeItem(TOKEN_KEY);
    showSignIn(`Signed out: the token was not accepted (${problem.detail || problem.title}).`);
    throw new SignedOut();
  }
  if (!response.ok) throw await problemOf(response);
  if (as === "response") return response;
  if (as === "bytes") return response.arrayBuffer();
  return response.json();
}

async function problemOf(response) {
  let title = response.statusText, detail = "";
  try {
    const body = await response.json();
    title = body.title || title;
    detail = body.detail || "";
  } catch { /* not problem+json: the status says enough */ }
  return new Problem(response.status, title, detail, response.headers.get("Retry-After"));
}

/// Shows a failure in an alert element: the problem's title and detail. Sign-outs are already shown.
function showProblem(element, error) {
  if (error instanceof SignedOut) return;
  if (error instanceof Problem) {
    const retry = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : "";
    element.textContent = `${error.title}: ${error.detail || `HTTP ${error.status}`}${retry}`;
  } else {
    element.textContent = `The request failed: ${error.message}`;
  }
}

/// Saves a downloaded body under the name the server gave in Content-Disposition.
async function download(path, fallbackName) {
  const response = await api(path, { as: "response" });
  const blob = await response.blob();
  const disposition = response.headers.get("Content-Disposition") || "";
  const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  const name = match ? decodedOr(match[1], fallbackName) : fallbackName;
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return { name, size: blob.size };
}

// ---- sign-in ----

/// The token in the address (#token=…), moved to sessionStorage and taken out of the address bar.
///
/// A tab already signed in keeps its token: a link carrying another one is only
/// offered (`offerToken`), so nobody can make a DPO act under the link-maker's
/// name by sending them a link.
function takeTokenFromAddress() {
  const match = /(?:^#|[#&?])token=([^&]+)/.exec(location.hash);
  if (!match) return;
  const rest = location.hash.replace(/[#&?]?token=[^&]+/, "").replace(/^#?[&?]?/, "");
  history.replaceState(null, "", location.pathname + location.search + (rest.startsWith("/") ? `#${rest}` : ""));
  const token = decodedOr(match[1], null);
  const current = sessionStorage.getItem(TOKEN_KEY);
  if (!token || token === current) return;
  if (current) { offerToken(token); return; }
  sessionStorage.setItem(TOKEN_KEY, token);
}

/// Asks before a link's token replaces the one this tab is signed in with.
function offerToken(token) {
  const offer = $("#token-offer");
  const signedInAs = identity ? `${identity.name} · ${identity.role}` : "your current token";
  offer.replaceChildren(
    h("p", {}, `The link you opened carries another token. You are still signed in as ${signedInAs}.`),
    h("button", { type: "button", id: "token-offer-switch", onclick: () => {
      offer.hidden = true;
      sessionStorage.setItem(TOKEN_KEY, token);
      signIn();
    } }, "Sign in with the link's token instead"),
    h("button", { type: "button", id: "token-offer-ignore", onclick: () => { offer.hidden = true; offer.replaceChildren(); } },
      "Stay signed in"));
  offer.hidden = false;
  $("#token-offer-ignore").focus();
}

/// `decodeURIComponent`, or `fallback` for text that is not valid percent-encoding.
function decodedOr(text, fallback) {
  try { return decodeURIComponent(text); } catch { return fallback; }
}

function showSignIn(message) {
  identity = null;
  generation += 1;
  $("#nav").hidden = true;
  $("#identity").hidden = true;
  const page = $("#page");
  page.replaceChildren($("#signin-template").content.cloneNode(true));
  $("#signin-error").textContent = message || "";
  $("#signin").addEventListener("submit", event => {
    event.preventDefault();
    const token = $("#signin-token").value.trim();
    if (!token) { $("#signin-error").textContent = "Paste a token first."; return; }
    sessionStorage.setItem(TOKEN_KEY, token);
    signIn();
  });
  $("#signin-token").focus();
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  showSignIn("Signed out. The token was removed from this tab.");
}

async function signIn() {
  if (!sessionStorage.getItem(TOKEN_KEY)) { showSignIn(); return; }
  try {
    identity = await api("/v1/whoami");
  } catch (error) {
    if (error instanceof SignedOut) return;
    const page = $("#page");
    page.replaceChildren(h("h1", { tabindex: "-1" }, "CallAudit console"), h("p", { role: "alert" }));
    showProblem($("[role=alert]", page), error);
    return;
  }
  $("#whoami").textContent = `${identity.name} · ${identity.role}`;
  $("#identity").hidden = false;
  for (const item of document.querySelectorAll("#nav [data-section]")) item.hidden = !may(item.dataset.section);
  $("#nav").hidden = !may("auditor") && !may("dpo");
  if (!location.hash.startsWith("#/")) history.replaceState(null, "", `${location.pathname}${location.search}#${home()}`);
  route();
}

/// Whether the signed-in role sees a section: auditor, dpo, or admin (both).
function may(section) {
  return identity !== null && (identity.role === section || identity.role === "admin");
}

function home() {
  return may("auditor") ? "/reports" : may("dpo") ? "/requests" : "/";
}

// ---- the router: #/section/id?query ----

function currentRoute() {
  const hash = location.hash.replace(/^#/, "");
  const [path, query = ""] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(part => decodedOr(part, part));
  return { parts, query: new URLSearchParams(query) };
}

/// Draws the page the address names: its h1 at once (focused, for keyboard and screen-reader users), its data as it comes.
function route() {
  if (!identity) return;
  generation += 1;
  performance.mark("console-route");
  const { parts, query } = currentRoute();
  const page = pages[parts[0] || ""] || notFound;
  // The nav link of the section this page is in says so (a report's page is in Reports).
  const section = parts[0] === "requests" && parts[1] === "new" ? "#/requests/new" : `#/${parts[0] || ""}`;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.getAttribute("href") === section) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  const main = $("#page");
  main.replaceChildren();
  const context = { parts, query, generation, main, painted: false, live: () => context.generation === generation };
  page(context);
  // A new page starts at its top, with the focus on its heading.
  window.scrollTo(0, 0);
  $("h1", main)?.focus({ preventScroll: true });
}

/// Sets the page's h1 (and the tab's title).
function heading(context, text) {
  context.main.append(h("h1", { tabindex: "-1" }, text));
  document.title = `${text} · CallAudit console`;
}

/// Marks the first table of the page drawn: what the browser tests time the first paint by.
function firstPaint(context) {
  if (!context.live() || context.painted) return;
  context.painted = true;
  performance.clearMarks("console-first-paint");
  performance.mark("console-first-paint");
}

/// A page the role may not see: said plainly, not hidden.
function refuse(context, section) {
  heading(context, "Not available to your role");
  context.main.append(h("p", { role: "alert" },
    `This part of the console is for the ${section === "auditor" ? "auditor" : "data protection officer"}; ` +
    `your token's role is ${identity.role}.`));
}

/// Gate for a section's pages: true when the role may see them, otherwise draws the refusal.
function allowed(context, section) {
  if (may(section)) return true;
  refuse(context, section);
  return false;
}

function notFound(context) {
  if (!may("auditor") && !may("dpo")) {
    heading(context, "Nothing here for your role");
    context.main.append(
      h("p", { role: "status" },
        `This console has a section for auditors and one for data protection officers; your token's role is ${identity.role}, ` +
        "which sees neither."),
      identity.role === "ops" ? h("p", {}, "Operations watch the service on the ", h("a", { href: "/ops" }, "operations dashboard"), ".") : null);
    return;
  }
  heading(context, "Page not found");
  context.main.append(h("p", { role: "alert" }, "There is no such page in the console."),
    h("p", {}, h("a", { href: `#${home()}` }, "Go to the start page")));
}
pages[""] = notFound;

/// A table with a caption and column headers (th scope=col); returns its tbody.
function table(id, caption, columns, { numeric = [] } = {}) {
  const body = h("tbody");
  const element = h("table", { id },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((column, index) =>
      h("th", { scope: "col", class: numeric.includes(index) ? "num" : null }, column)))),
    body);
  return { element, body };
}

function row(cells) {
  return h("tr", {}, cells.map(cell =>
    cell instanceof Node && (cell.nodeName === "TD" || cell.nodeName === "TH") ? cell : h("td", {}, cell)));
}

function numberCell(value) { return h("td", { class: "num" }, number(value)); }

/// A definition list of [label, value] pairs, skipping absent values.
function facts(pairs, attributes = {}) {
  return h("dl", { class: "facts", ...attributes },
    pairs.filter(([, value]) => value !== undefined).map(([label, value]) => [h("dt", {}, label), h("dd", {}, value ?? "–")]));
}

/// A path with query parameters, leaving out empty ones.
function withQuery(path, parameters) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined && value !== null && value !== "") query.set(name, value);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

function start() {
  takeTokenFromAddress();
  $("#signout").addEventListener("click", signOut);
  window.addEventListener("hashchange", () => {
    if (/token=/.test(location.hash)) { takeTokenFromAddress(); signIn(); return; }
    route();
  });
  signIn();
}

document.addEventListener("DOMContentLoaded", start);
