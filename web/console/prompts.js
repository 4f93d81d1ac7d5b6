// The merchant's own prompts: WAV files uploaded for its queues' greeting and music on hold.
// The upload is the file itself as the request body; what the API refuses about it (its format, its
// length, its size) is shown beside the file, a bad name beside the name.
import { call, el, errorOf } from "../common/api.js";
import { clearErrors, labelled, showErrors } from "./forms.js";

// The API's error fields about the audio, all shown beside the file input.
const ABOUT_THE_FILE = ["body", "duration", "channels", "sample_rate", "bits_per_sample", "encoding", "Content-Type"];

function kib(bytes) {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

export function promptsSection(session, base) {
  const path = `${base}/prompts`;
  const name = el("input", { id: "prompt-name", name: "name", type: "text", placeholder: "welcome" });
  const file = el("input", { id: "prompt-file", name: "file", type: "file", accept: ".wav,audio/wav" });
  const notice = el("div", { class: "notice", id: "prompts-notice", hidden: true });
  const list = el("div", { id: "prompts-list" });
  const form = el("form", { class: "resource", id: "prompts-form", novalidate: true },
    labelled({ name: "name", label: "name" }, name),
    labelled({ name: "file", label: "WAV file" }, file),
    el("div", { class: "form-actions" },
      el("button", { type: "submit", class: "primary", id: "prompts-submit", text: "Upload prompt" }),
      el("span", { class: "form-error", role: "alert" })));

  async function load() {
    const result = await call("GET", path);
    if (!result.ok) {
      list.replaceChildren(el("p", { class: "form-error", text: errorOf(result).message }));
      return;
    }
    const rows = result.body.items.map((p) => el("tr", { "data-id": p.name },
      el("td", { text: p.name }),
      el("td", { text: `${(p.duration_ms / 1000).toFixed(1)} s` }),
      el("td", { text: kib(p.size_bytes) }),
      el("td", { text: `${p.encoding}, ${p.sample_rate / 1000} kHz` }),
      el("td", { class: "actions" }, el("button", { type: "button", text: "Delete", onclick: async () => {
        if (!confirm(`Delete prompt ${p.name}?`)) return;
        const r = await call("DELETE", `${path}/${encodeURIComponent(p.name)}`);
        notice.hidden = r.ok;
        notice.textContent = r.ok ? "" : errorOf(r).message; // 409: a queue still plays it
        load();
      } }))));
    list.replaceChildren(rows.length
      ? el("table", {}, el("thead", {}, el("tr", {}, ["name", "length", "size", "format", ""].map((t) => el("th", { text: t })))), el("tbody", {}, rows))
      : el("p", { text: "No prompts yet." }));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    notice.hidden = true;
    const chosen = file.files[0];
    if (!chosen) {
      showErrors(form, { body: { error: { message: "choose a WAV file", field: "file" } } });
      return;
    }
    // A .wav the browser could not type is sent as WAV: the API reads the file to check it.
    const body = chosen.type ? chosen : new Blob([chosen], { type: "audio/wav" });
    const result = await call("PUT", `${path}/${encodeURIComponent(name.value.trim())}`, body);
    if (!result.ok) {
      const error = errorOf(result);
      // "channels is 2; a prompt must be mono", "the file is not a WAV file ...", beside the file.
      const about = ABOUT_THE_FILE.includes(error.field);
      const subject = error.field === "body" ? "the file" : error.field;
      showErrors(form, { body: { error: about ? { ...error, field: "file", message: `${subject} ${error.message}` } : error } });
      return;
    }
    notice.hidden = false;
    notice.textContent = `Prompt ${result.body.name} uploaded (${(result.body.duration_ms / 1000).toFixed(1)} s). Name it in a queue's greeting prompt or music prompt.`;
    form.reset();
    load();
  });

  load();
  return el("section", { id: "prompts" },
    el("h1", { text: "Prompts" }),
    el("p", { text: "Your own greeting and music on hold: WAV, mono, 8 or 16 kHz, 16-bit PCM or G.711, at most 60 seconds." }),
    form, notice, list);
}
