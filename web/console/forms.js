// Form helpers: an input with its label and the slot for the API's message about that field.
import { el, errorOf } from "../common/api.js";

// The error's field against the form's: "overflow.target" or "skills[2]" land on their top field.
function fieldFor(form, name) {
  if (!name) return null;
  const top = name.split(/[.[]/)[0];
  return form.querySelector(`[data-error-for="${CSS.escape(name)}"]`) || form.querySelector(`[data-error-for="${CSS.escape(top)}"]`);
}

export function showErrors(form, result) {
  const error = errorOf(result);
  const slot = fieldFor(form, error.field);
  const general = form.querySelector(".form-error");
  if (slot) {
    slot.textContent = error.message;
    const input = slot.parentElement.querySelector("input, select");
    if (input) input.setAttribute("aria-invalid", "true");
  } else {
    general.textContent = error.field ? `${error.field}: ${error.message}` : error.message;
  }
}

export function clearErrors(form) {
  form.querySelectorAll(".field-error, .form-error").forEach((n) => (n.textContent = ""));
  form.querySelectorAll("[aria-invalid]").forEach((n) => n.removeAttribute("aria-invalid"));
}

export function labelled(field, input) {
  return el("label", { for: input.id }, field.label || field.name.replaceAll("_", " "), input,
    el("span", { class: "field-error", "data-error-for": field.name, "aria-live": "polite" }));
}
