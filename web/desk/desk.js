// The agent desk: sign in, change state, see the offered call (caller, queue, wait, CRM link) the
// moment the event socket says so, transfer it while talking, and pick a wrap-up code once it ends.
import { api, ApiError, forget, session, signIn } from "../lib/api.js";
import { listen } from "../lib/socket.js";

const $ = (id) => document.getElementById(id);
const STATE_NAMES = {
  offline: "Offline",
  available: "Available",
  reserved: "Ringing",
  on_contact: "On a call",
  wrap_up: "Wrap-up",
  not_ready: "Not ready",
  not_responding: "Not responding",
};

let desk = null; // {merchant_id, seat_id, crm_link_template, wrap_up_codes}
let socket = null;
let endedContact = null;
let transferring = null; // the contact this agent asked to transfer, until their seat leaves it

// The same rule as contact_center.domain.desk.fill_crm_link.
export function fillCrmLink(template, caller) {
  return template ? template.split("{caller}").join(encodeURIComponent(caller)) : null;
}

function showFieldErrors(form, error) {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  const slot = error instanceof ApiError && error.field && form.querySelector(`[data-field="${error.field}"]`);
  if (slot) {
    slot.textContent = error.message;
    return true;
  }
  return false;
}

function note(text) {
  const item = document.createElement("li");
  item.textContent = `${new Date().toLocaleTimeString()} — ${text}`;
  $("events").prepend(item);
  while ($("events").children.length > 20) $("events").lastChild.remove();
}

function showState(state, reason) {
  const badge = $("state");
  badge.dataset.state = state;
  badge.textContent = STATE_NAMES[state] || state;
  $("state-reason").textContent = reason ? `(${reason})` : "";
  const idle = ["offline", "available", "not_ready", "not_responding"].includes(state);
  $("go-available").disabled = !idle || state === "available";
  $("go-not-ready").disabled = !idle;
  $("go-offline").disabled = !idle || state === "offline";
}

async function refreshState() {
  const current = await api("GET", `/merchants/${desk.merchant_id}/seats/${desk.seat_id}/state`);
  showState(current.state, current.reason);
}

async function changeState(state, reason) {
  $("state-error").textContent = "";
  try {
    const body = reason ? { state, reason } : { state };
    const changed = await api("PUT", `/merchants/${desk.merchant_id}/seats/${desk.seat_id}/state`, body);
    showState(changed.state, changed.reason);
  } catch (error) {
    $("state-error").textContent = error.message;
  }
}

function formatWait(ms) {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

function showOffer(data) {
  $("call-caller").textContent = data.caller || "unknown number";
  $("call-queue").textContent = data.queue_name || data.queue_id || "—";
  $("call-waited").textContent = formatWait(data.waited_ms || 0);
  const link = fillCrmLink(desk.crm_link_template, data.caller || "");
  $("call-crm").hidden = !link;
  $("call-no-crm").hidden = Boolean(link);
  if (link) $("call-crm").href = link;
  $("call-status").textContent = "Ringing — answer on your phone";
  $("call-title").textContent = "Incoming call";
  $("transfer-form").hidden = true;
  $("wrap-up").hidden = true;
  const call = $("call");
  call.dataset.contactId = data.contact_id;
  call.hidden = false;
  // When the page showed the call (epoch ms): what the latency is measured to.
  call.dataset.shownAt = String(Date.now());
}

function showEnded(data) {
  const call = $("call");
  if (call.dataset.contactId === data.contact_id) {
    $("transfer-form").hidden = true;
    $("call-title").textContent = "Last call";
    $("call-status").textContent = `Ended (${data.outcome})`;
  }
  if (!data.answered_at || !desk.wrap_up_codes.length) return;
  endedContact = data.contact_id;
  $("wrap-up-about").textContent = `Call from ${data.caller || "unknown number"} ended.`;
  $("wrap-up-result").textContent = "";
  $("wrap-up").hidden = false;
  $("wrap-up-code").focus();
}

function onEvent(event) {
  const data = event.data || {};
  if (event.type === "agent.state_changed" && data.seat_id === desk.seat_id) {
    showState(data.to_state, data.reason);
    note(`state: ${STATE_NAMES[data.to_state] || data.to_state}`);
    // The caller talks on with someone else: this agent's part of the call is over.
    if (transferring && data.to_state !== "on_contact") {
      transferring = null;
      $("transfer-form").hidden = true;
      $("call-title").textContent = "Last call";
      $("call-status").textContent = "Transferred";
    }
  } else if (event.type === "contact.offered" && data.seat_id === desk.seat_id) {
    showOffer(data);
    note(`call offered from ${data.caller}`);
  } else if (event.type === "contact.answered" && data.seat_id === desk.seat_id) {
    $("call-status").textContent = "On the call";
    showFieldErrors($("transfer-form"), null);
    $("transfer-result").textContent = "";
    $("transfer-form").hidden = false;
    note(`call answered`);
  } else if (event.type === "contact.ended" && data.seat_id === desk.seat_id) {
    showEnded(data);
    note(`call ended (${data.outcome})`);
  }
}

async function startDesk(signed) {
  $("sign-in").hidden = true;
  $("desk").hidden = false;
  $("sign-out").hidden = false;
  $("who").hidden = false;
  $("who").textContent = `Seat ${signed.seat_id}`;
  const settings = await api("GET", `/merchants/${signed.merchant_id}/seats/${signed.seat_id}/desk`);
  desk = { merchant_id: signed.merchant_id, ...settings };
  const select = $("wrap-up-code");
  select.replaceChildren(
    ...desk.wrap_up_codes.map((code) => {
      const option = document.createElement("option");
      option.value = code;
      option.textContent = code;
      return option;
    }),
  );
  await refreshState();
  socket = await listen(signed.token, {
    onevent: onEvent,
    // A reconnection may have missed a state change: read it again.
    onopen: () => refreshState().catch(() => {}),
    onstatus: (status) => {
      $("socket-status").textContent = `Live updates: ${status}`;
      document.body.dataset.socket = status;
    },
  });
  $("go-available").focus();
}

function signOut() {
  if (socket) socket.close();
  forget();
  location.reload();
}

async function submitSignIn(event) {
  event.preventDefault();
  const form = event.target;
  $("sign-in-error").textContent = "";
  try {
    const signed = await signIn($("merchant-id").value.trim(), $("user-id").value.trim(), $("password").value);
    if (signed.role !== "agent") {
      forget();
      $("sign-in-error").textContent = "The desk is for agents: sign in with an agent's credentials.";
      return;
    }
    await startDesk(signed);
  } catch (error) {
    if (!showFieldErrors(form, error)) $("sign-in-error").textContent = error.message;
  }
}

async function submitWrapUp(event) {
  event.preventDefault();
  const form = event.target;
  try {
    const done = await api("PUT", `/merchants/${desk.merchant_id}/contacts/${endedContact}/wrap-up`, {
      code: $("wrap-up-code").value,
    });
    showFieldErrors(form, null);
    $("wrap-up-result").textContent = `Saved: ${done.wrap_up_code}`;
    note(`wrap-up saved: ${done.wrap_up_code}`);
  } catch (error) {
    if (!showFieldErrors(form, error)) $("wrap-up-result").textContent = error.message;
  }
}

// The API names the target's field ("target.number"); the form has one slot for the target.
async function submitTransfer(event) {
  event.preventDefault();
  const form = event.target;
  const kind = $("transfer-kind").value;
  const to = $("transfer-to").value.trim();
  showFieldErrors(form, null);
  $("transfer-result").textContent = "";
  // Set before the request: the seat's state change can arrive over the socket before the 202.
  transferring = $("call").dataset.contactId;
  try {
    await api("POST", `/merchants/${desk.merchant_id}/contacts/${transferring}/transfer`, {
      target: { [kind]: to },
    });
    $("transfer-result").textContent = `Transferring to ${to}…`;
    note(`transfer to ${to} requested`);
  } catch (error) {
    transferring = null;
    const slot = form.querySelector('[data-field="target"]');
    if (error instanceof ApiError && error.field && error.field.startsWith("target")) slot.textContent = error.message;
    else $("transfer-result").textContent = error.message;
  }
}

function main() {
  $("sign-in-form").addEventListener("submit", submitSignIn);
  $("wrap-up-form").addEventListener("submit", submitWrapUp);
  $("transfer-form").addEventListener("submit", submitTransfer);
  $("go-available").addEventListener("click", () => changeState("available"));
  $("go-not-ready").addEventListener("click", () => changeState("not_ready", $("not-ready-reason").value));
  $("go-offline").addEventListener("click", () => changeState("offline"));
  $("sign-out").addEventListener("click", signOut);
  const current = session();
  if (current && current.role === "agent") {
    startDesk(current).catch((error) => {
      forget();
      $("sign-in").hidden = false;
      $("desk").hidden = true;
      $("sign-in-error").textContent = `Please sign in again: ${error.message}`;
    });
  } else {
    $("merchant-id").focus();
  }
}

main();
