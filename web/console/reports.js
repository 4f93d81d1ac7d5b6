// The reports: contact records with filters (and their CSV export), and interval figures per queue
// or per agent. Filters are the API's query parameters; times are entered in the browser's zone.
import { call, config, el, saved } from "../common/api.js";
import { clearErrors, labelled, showErrors } from "./forms.js";

const OUTCOMES = ["answered", "abandoned", "timed_out", "not_queued"];

function when(ms) {
  return ms ? new Date(ms).toLocaleString() : "";
}

function filterForm(id, fields, button) {
  const inputs = new Map();
  const form = el("form", { class: "filters", id, novalidate: true },
    fields.map((f) => {
      const input = f.options
        ? el("select", { id: `${id}-${f.name}`, name: f.name }, f.options.map((o) => el("option", { value: o, text: o || "any" })))
        : el("input", { id: `${id}-${f.name}`, name: f.name, type: f.type || "text", placeholder: f.placeholder || null });
      inputs.set(f.name, input);
      return labelled(f, input);
    }),
    el("div", { class: "form-actions" }, button, el("span", { class: "form-error", role: "alert" })));
  const query = () => {
    const params = new URLSearchParams();
    for (const [name, input] of inputs) {
      const value = input.value.trim();
      if (!value) continue;
      params.set(name, input.type === "datetime-local" ? String(new Date(value).getTime()) : value);
    }
    return params;
  };
  return { form, query };
}

function table(columns, items) {
  if (!items.length) return el("p", { text: "Nothing in this range." });
  return el("table", {},
    el("thead", {}, el("tr", {}, columns.map(([label]) => el("th", { text: label })))),
    el("tbody", {}, items.map((item) => el("tr", {}, columns.map(([, value]) => el("td", { text: value(item) ?? "" }))))));
}

function range() {
  return [
    { name: "from", type: "datetime-local" },
    { name: "to", type: "datetime-local" },
    { name: "queue_id", label: "queue id" },
    { name: "seat_id", label: "seat id" },
  ];
}

export function reportsSection(session, base) {
  const contactsOut = el("div", { id: "contacts-list" });
  const exportLink = el("a", { id: "contacts-csv", hidden: true, text: "Download CSV" });
  const contacts = filterForm(
    "contacts-filter",
    [...range(), { name: "outcome", options: ["", ...OUTCOMES] }],
    el("button", { type: "submit", class: "primary", text: "Show contacts" }),
  );
  const exportButton = el("button", { type: "button", id: "contacts-export", text: "Export CSV" });
  contacts.form.querySelector(".form-actions").append(exportButton, exportLink);

  contacts.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(contacts.form);
    const params = contacts.query();
    params.set("limit", "100");
    const result = await call("GET", `${base}/contacts?${params}`);
    if (!result.ok) return showErrors(contacts.form, result);
    contactsOut.replaceChildren(table([
      ["ended", (r) => when(r.ended_at)],
      ["queue", (r) => r.queue_id],
      ["agent seat", (r) => r.seat_id],
      ["caller", (r) => r.caller],
      ["called", (r) => r.called],
      ["outcome", (r) => r.outcome],
      ["waited s", (r) => (r.answered_at && r.enqueued_at ? Math.round((r.answered_at - r.enqueued_at) / 1000) : "")],
      ["hang-up", (r) => [r.hangup_side, r.hangup_cause].filter(Boolean).join(": ")],
    ], result.body.items));
  });

  // The export needs the bearer token, which a plain link cannot send: fetch it, then link the file.
  exportButton.addEventListener("click", async () => {
    clearErrors(contacts.form);
    const params = contacts.query();
    params.set("format", "csv");
    const { api_url: api } = await config();
    const response = await fetch(`${api}${base}/contacts?${params}`, {
      headers: { Authorization: `Bearer ${saved()?.token}`, Accept: "text/csv" },
    });
    if (!response.ok) {
      let body = null;
      try { body = await response.json(); } catch (e) { body = null; }
      return showErrors(contacts.form, { ok: false, status: response.status, body });
    }
    const url = URL.createObjectURL(await response.blob());
    exportLink.href = url;
    exportLink.download = "contacts.csv";
    exportLink.hidden = false;
    exportLink.click();
  });

  const intervalsOut = el("div", { id: "intervals-list" });
  const intervals = filterForm(
    "intervals-filter",
    [
      ...range(),
      { name: "interval", options: ["15m", "day"] },
      { name: "group_by", label: "per", options: ["queues", "agents"] },
      { name: "service_level_seconds", label: "service level seconds", placeholder: "20" },
    ],
    el("button", { type: "submit", class: "primary", text: "Show figures" }),
  );
  intervals.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(intervals.form);
    const params = intervals.query();
    const per = params.get("group_by") || "queues";
    params.delete("group_by");
    const result = await call("GET", `${base}/reports/${per}?${params}`);
    if (!result.ok) return showErrors(intervals.form, result);
    const pct = (v) => (v === null ? "" : `${Math.round(v * 100)}%`);
    intervalsOut.replaceChildren(table([
      ["interval start", (r) => when(r.interval_start)],
      [per === "queues" ? "queue" : "seat", (r) => r.queue_id ?? r.seat_id],
      ["offered", (r) => r.offered],
      ["answered", (r) => r.answered],
      ["abandoned", (r) => r.abandoned],
      ["timed out", (r) => r.timed_out],
      ["ASA s", (r) => r.asa_seconds],
      ["AHT s", (r) => r.aht_seconds],
      [`SL ${result.body.service_level_seconds}s`, (r) => pct(r.service_level)],
    ], result.body.items));
  });

  return el("section", { id: "reports" },
    el("h1", { text: "Contacts" }), contacts.form, contactsOut,
    el("h1", { text: "Interval figures" }), intervals.form, intervalsOut);
}

