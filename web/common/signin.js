// The sign-in form both pages share: a person's password (supervisor, agent) or an API key
// (merchant admin). ``onSession`` receives the session once the API has said who it is.
import { el, signIn } from "./api.js";

export function signInForm({ title, onSession }) {
  const message = el("p", { class: "form-error", role: "alert", id: "sign-in-error" });
  const merchant = el("input", { id: "sign-in-merchant", name: "merchant_id", required: true, autocomplete: "organization" });
  const user = el("input", { id: "sign-in-user", name: "user_id", autocomplete: "username" });
  const password = el("input", { id: "sign-in-password", name: "password", type: "password", autocomplete: "current-password" });
  const apiKey = el("input", { id: "sign-in-api-key", name: "api_key", type: "password", autocomplete: "off" });
  const form = el(
    "form",
    { class: "sign-in", id: "sign-in" },
    el("h1", { text: title }),
    el("label", {}, "Merchant id", merchant),
    el("fieldset", {}, el("legend", { text: "Supervisor or agent" }),
      el("label", {}, "User id", user),
      el("label", {}, "Password", password)),
    el("fieldset", {}, el("legend", { text: "or merchant admin" }),
      el("label", {}, "API key", apiKey)),
    el("button", { type: "submit", id: "sign-in-submit", text: "Sign in" }),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    const result = await signIn({
      merchantId: merchant.value.trim(),
      userId: user.value.trim(),
      password: password.value,
      apiKey: apiKey.value.trim() || null,
    });
    if (!result.ok) {
      const field = result.error.field ? ` (${result.error.field})` : "";
      message.textContent = `${result.error.message}${field}`;
      return;
    }
    onSession(result.session);
  });
  return form;
}

export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function percent(ratio) {
  return ratio === null || ratio === undefined ? "–" : `${Math.round(ratio * 100)}%`;
}
