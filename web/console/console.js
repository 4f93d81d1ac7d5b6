// The merchant console: plain forms over the API for a merchant admin. Every error the API answers
// is shown next to the field its body names (``error.field``), or above the form when it names none.
import { call, el, errorOf, forget, saved } from "../common/api.js";
import { signInForm } from "../common/signin.js";
import { RESOURCES } from "./resources.js";
import { reportsSection } from "./reports.js";
import { promptsSection } from "./prompts.js";
import { clearErrors, labelled, showErrors } from "./forms.js";

const app = document.getElementById("app");
const nav = document.getElementById("nav");
const statusLine = document.getElementById("status");
const who = document.getElementById("who");
const signOut = document.getElementById("sign-out");

function showStatus(text) {
  statusLine.hidden = !text;
  statusLine.textContent = text || "";
}

const base = (session) => `/merchants/${encodeURIComponent(session.merchant_id)}`;

// A form field's value as the API takes it; "" means "not given".
function valueOf(field, input) {
  const raw = input.value.trim();
  if (raw === "") return undefined;
  if (field.type === "number") return Number(raw);
  if (field.type === "list") return raw.split(",").map((s) => s.trim()).filter(Boolean);
  if (field.type === "checkbox") return input.checked;
  return raw;
}

function inputFor(field) {
  const id = `field-${field.name.replaceAll(".", "-")}`;
  if (field.type === "select") {
    return el("select", { id, name: field.name },
      el("option", { value: "", text: "—" }),
      field.options.map((o) => el("option", { value: o, text: o })));
  }
  return el("input", {
    id,
    name: field.name,
    type: field.type === "number" ? "text" : field.type === "password" ? "password" : "text",
    inputmode: field.type === "number" ? "numeric" : null,
    placeholder: field.placeholder || null,
  });
}

function resourceSection(session, resource) {
  const path = base(session) + resource.path;
  const inputs = new Map(resource.fields.map((f) => [f.name, inputFor(f)]));
  const notice = el("div", { class: "notice", id: `${resource.key}-notice`, hidden: true });
  const table = el("div", { id: `${resource.key}-list` });
  let editing = null;
  const submit = el("button", { type: "submit", class: "primary", id: `${resource.key}-submit`, text: `Create ${resource.noun}` });
  const cancel = el("button", { type: "button", text: "Cancel edit", hidden: true });
  const form = el("form", { class: "resource", id: `${resource.key}-form`, novalidate: true },
    resource.fields.map((f) => labelled(f, inputs.get(f.name))),
    el("div", { class: "form-actions" }, submit, cancel, el("span", { class: "form-error", role: "alert" })));

  function reset() {
    editing = null;
    form.reset();
    submit.textContent = `Create ${resource.noun}`;
    cancel.hidden = true;
    inputs.forEach((input, name) => (input.disabled = false));
  }
  cancel.addEventListener("click", reset);

  function edit(item) {
    editing = item;
    for (const f of resource.fields) {
      const input = inputs.get(f.name);
      const value = getPath(item, f.name);
      input.value = value === null || value === undefined ? "" : Array.isArray(value) ? value.join(", ") : String(value);
      input.disabled = Boolean(f.createOnly);
    }
    submit.textContent = `Save ${resource.noun}`;
    cancel.hidden = false;
    form.scrollIntoView();
  }

  async function load() {
    const result = await call("GET", `${path}?limit=100`);
    if (signedOut(result)) return;
    if (!result.ok) {
      table.replaceChildren(el("p", { class: "form-error", text: errorOf(result).message }));
      return;
    }
    const rows = result.body.items.map((item) => {
      const key = item[resource.id];
      const actions = [];
      if (resource.editable) actions.push(el("button", { type: "button", text: "Edit", onclick: () => edit(item) }));
      for (const extra of resource.actions || []) {
        actions.push(el("button", { type: "button", text: extra.label, onclick: async () => {
          const r = await call(extra.method, `${path}/${encodeURIComponent(key)}${extra.suffix}`, extra.body);
          notice.hidden = false;
          notice.textContent = r.ok ? extra.show(r.body) : errorOf(r).message;
        } }));
      }
      actions.push(el("button", { type: "button", text: "Delete", onclick: async () => {
        if (!confirm(`Delete ${resource.noun} ${key}?`)) return;
        const r = await call("DELETE", `${path}/${encodeURIComponent(key)}`);
        if (!r.ok) showStatus(errorOf(r).message);
        load();
      } }));
      return el("tr", { "data-id": key },
        resource.columns.map((c) => el("td", { text: format(c.value ? c.value(item) : item[c.name]) })),
        el("td", { class: "actions" }, actions));
    });
    table.replaceChildren(rows.length
      ? el("table", {}, el("thead", {}, el("tr", {}, resource.columns.map((c) => el("th", { text: c.label || c.name.replaceAll("_", " ") })), el("th", { text: "" }))), el("tbody", {}, rows))
      : el("p", { text: `No ${resource.title.toLowerCase()} yet.` }));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = {};
    for (const f of resource.fields) {
      if (editing && f.createOnly) continue;
      const value = valueOf(f, inputs.get(f.name));
      if (value !== undefined) setPath(body, f.name, value);
    }
    const result = editing
      ? await call("PATCH", `${path}/${encodeURIComponent(editing[resource.id])}`, body)
      : await call("POST", path, body);
    if (!result.ok) {
      showErrors(form, result);
      return;
    }
    notice.hidden = !(resource.created && !editing);
    if (!notice.hidden) notice.textContent = resource.created(result.body);
    reset();
    load();
  });

  load();
  return el("section", { id: resource.key },
    el("h1", { text: resource.title }),
    resource.help ? el("p", { text: resource.help }) : null,
    form, notice, table);
}

// "media.greeting" is the field "greeting" of the object "media", as the API's error fields name it.
function setPath(target, path, value) {
  const names = path.split(".");
  const last = names.pop();
  let node = target;
  for (const name of names) node = node[name] ??= {};
  node[last] = value;
}

function getPath(item, path) {
  return path.split(".").reduce((node, name) => (node === null || node === undefined ? node : node[name]), item);
}

function format(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// A session the API no longer accepts (expired, or its user deleted): back to the sign-in form.
function signedOut(result) {
  if (result.status !== 401) return false;
  forget();
  showSignIn();
  showStatus("Signed out: your session has ended. Sign in again.");
  return true;
}

async function merchantSection(session) {
  const result = await call("GET", base(session));
  if (signedOut(result)) return el("p");
  if (!result.ok) {
    const error = errorOf(result);
    showStatus(result.status === 403 ? `Not allowed: ${error.message}` : error.message);
    return el("section", { id: "merchant" }, el("h1", { text: "Merchant settings" }),
      el("p", { class: "form-error", id: "merchant-error", text: `${result.status === 403 ? "403 Forbidden" : `Error ${result.status}`}: ${error.message}` }));
  }
  const m = result.body;
  return el("section", { id: "merchant" }, el("h1", { text: m.name }),
    el("table", {}, el("tbody", {},
      [["Merchant id", m.merchant_id], ["Contact e-mail", m.contact_email], ["Seat licences", `${m.seats_used} used of ${m.seat_licenses}`]]
        .map(([k, v]) => el("tr", {}, el("th", { text: k }), el("td", { text: v }))))));
}

const SECTIONS = [
  { key: "merchant", title: "Merchant", build: merchantSection },
  ...RESOURCES.map((r) => ({ key: r.key, title: r.title, build: async (s) => resourceSection(s, r) })),
  { key: "prompts", title: "Prompts", build: async (s) => promptsSection(s, base(s)) },
  { key: "reports", title: "Reports", build: async (s) => reportsSection(s, base(s)) },
];

async function show(session) {
  const key = location.hash.slice(1) || "merchant";
  const section = SECTIONS.find((s) => s.key === key) || SECTIONS[0];
  if (!saved()) return;
  nav.querySelectorAll("a").forEach((a) => a.classList.toggle("current", a.hash === `#${section.key}`));
  showStatus("");
  const built = await section.build(session);
  if (saved()) app.replaceChildren(built); // else it signed out meanwhile: the sign-in form stays
}

function start(session) {
  who.textContent = `${session.role.replace("_", " ")} · ${session.merchant_id}`;
  signOut.hidden = false;
  nav.hidden = false;
  nav.replaceChildren(...SECTIONS.map((s) => el("a", { href: `#${s.key}`, text: s.title })));
  window.onhashchange = () => show(session);
  show(session);
}

function showSignIn() {
  nav.hidden = true;
  signOut.hidden = true;
  who.textContent = "";
  window.onhashchange = null;
  app.replaceChildren(signInForm({ title: "Sign in to the console", onSession: start }));
}

signOut.addEventListener("click", () => {
  forget();
  showStatus("");
  showSignIn();
});

const session = saved();
if (session && session.merchant_id) start(session);
else showSignIn();
