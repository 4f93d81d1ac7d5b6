// The supervisor wallboard: polls GET /merchants/{id}/wallboard once a second (the next poll starts
// when the previous one ends, so a slow API is never asked twice at once) and redraws. An error is
// always shown: signed out and forbidden replace the board; an unreachable API keeps the last
// figures on screen, marked stale.
import { call, el, errorOf, forget, saved } from "../common/api.js";
import { duration, percent, signInForm } from "../common/signin.js";

const POLL_MS = 1000;
const STATE_LABELS = {
  available: "Available",
  reserved: "Ringing",
  on_contact: "On call",
  after_contact_work: "Wrap-up",
  not_ready: "Not ready",
  not_responding: "Not responding",
  offline: "Offline",
};

const app = document.getElementById("app");
const statusLine = document.getElementById("status");
const updated = document.getElementById("updated");
const who = document.getElementById("who");
const signOut = document.getElementById("sign-out");
let timer = null;
let lastGood = null;

function showStatus(text, kind = "error") {
  statusLine.hidden = !text;
  statusLine.textContent = text || "";
  statusLine.className = kind === "stale" ? "status stale" : "status";
}

function levelClass(ratio, good, warn, higherIsBetter) {
  if (ratio === null || ratio === undefined) return "";
  if (higherIsBetter) return ratio >= good ? "good" : ratio >= warn ? "warn" : "bad";
  return ratio <= good ? "good" : ratio <= warn ? "warn" : "bad";
}

function figure(label, value, extraClass = "") {
  return el("div", { class: `figure ${extraClass}` }, el("span", { class: "label", text: label }), el("span", { class: "value", text: value }));
}

function tile(queue) {
  const a = queue.agents;
  const row = (label, w) =>
    el("tr", {},
      el("th", { text: label }),
      el("td", { class: `sl ${levelClass(w.service_level, 0.8, 0.6, true)}`, text: percent(w.service_level) }),
      el("td", { class: `abandon ${levelClass(w.abandon_rate, 0.05, 0.1, false)}`, text: percent(w.abandon_rate) }),
      el("td", { class: "offered", text: w.offered }),
      el("td", { class: "answered", text: w.answered }));
  return el("section", { class: `tile${queue.waiting > 0 && a.available === 0 ? " alert" : ""}`, "data-queue-id": queue.queue_id },
    el("h2", { text: queue.name, title: queue.queue_id }),
    el("div", { class: "headline" },
      figure("Waiting", queue.waiting, `waiting${queue.waiting > 0 ? " waiting-some" : ""}`),
      figure("Oldest wait", queue.waiting > 0 ? duration(queue.oldest_wait_seconds) : "–", "oldest")),
    el("div", { class: "agents" },
      figure("Available", a.available, "small available"),
      figure("On call", a.on_contact + a.reserved, "small on-call"),
      figure("Wrap-up", a.after_contact_work, "small wrap-up"),
      figure("Not ready", a.not_ready + a.not_responding, "small not-ready")),
    el("table", { class: "levels" },
      el("thead", {}, el("tr", {},
        el("th", { text: "" }),
        el("th", { text: `SL ${queue.service_level_seconds}s` }),
        el("th", { text: "Abandon" }),
        el("th", { text: "Offered" }),
        el("th", { text: "Answered" }))),
      el("tbody", {}, row("Today", queue.today), row("This 15 min", queue.interval))));
}

function agentTable(agents, queueNames) {
  if (agents.length === 0) return el("p", { class: "empty", text: "No agents serve these queues." });
  return el("table", { class: "agents-table", id: "agents" },
    el("thead", {}, el("tr", {}, ["Agent", "State", "Time in state", "Queues"].map((h) => el("th", { text: h })))),
    el("tbody", {}, agents.map((agent) =>
      el("tr", { "data-seat-id": agent.seat_id },
        el("td", { text: agent.display_name || agent.seat_id }),
        el("td", { class: `state state-${agent.state}`, text: STATE_LABELS[agent.state] + (agent.reason ? ` (${agent.reason})` : "") }),
        el("td", { class: "time", text: duration(agent.seconds_in_state) }),
        el("td", { text: agent.queue_ids.map((id) => queueNames.get(id) || id).join(", ") })))));
}

function render(board) {
  const tiles = board.queues.length
    ? el("div", { class: "tiles", id: "tiles" }, board.queues.map(tile))
    : el("p", { class: "empty", text: "No queues to show." });
  app.replaceChildren(tiles, el("h2", { class: "section", text: "Agents" }), agentTable(board.agents, new Map(board.queues.map((q) => [q.queue_id, q.name]))));
}

function stop() {
  if (timer !== null) clearTimeout(timer);
  timer = null;
}

function showSignIn(message) {
  stop();
  lastGood = null;
  signOut.hidden = true;
  who.textContent = "";
  updated.textContent = "";
  showStatus(message || "");
  app.replaceChildren(signInForm({ title: "Sign in to the wallboard", onSession: start }));
}

async function poll(session) {
  const result = await call("GET", `/merchants/${encodeURIComponent(session.merchant_id)}/wallboard`);
  if (result.ok) {
    lastGood = Date.now();
    showStatus("");
    render(result.body);
    updated.textContent = `Updated ${new Date(result.body.now).toLocaleTimeString()}`;
  } else if (result.status === 401) {
    forget();
    showSignIn("Signed out: your session has ended. Sign in again.");
    return;
  } else if (result.status === 403 || result.status === 404) {
    stop();
    app.replaceChildren(el("p", { class: "empty", text: "Nothing to show for these credentials." }));
    showStatus(`Not allowed: ${errorOf(result).message}`);
    return;
  } else {
    const since = lastGood ? ` Last figures from ${duration((Date.now() - lastGood) / 1000)} ago.` : "";
    showStatus(`${errorOf(result).message}${since}`, lastGood ? "stale" : "error");
    if (!lastGood) app.replaceChildren(el("p", { class: "empty", text: "Waiting for the API…" }));
  }
  timer = setTimeout(() => poll(session), POLL_MS);
}

function start(session) {
  stop();
  who.textContent = `${session.role.replace("_", " ")} · ${session.user_id || session.merchant_id}`;
  signOut.hidden = false;
  app.replaceChildren(el("p", { class: "loading", text: "Loading…" }));
  poll(session);
}

signOut.addEventListener("click", () => {
  forget();
  showSignIn("");
});

const session = saved();
if (session && session.merchant_id) start(session);
else showSignIn("");
