// The API as the wallboard and the console call it: one origin, its address from /config.json,
// credentials kept for the browser tab only (sessionStorage), every answer as {ok, status, body}.
// Errors keep the API's one shape: {error: {code, message, field}}.

const CREDENTIALS = "switchboard.credentials";

let configPromise = null;

export function config() {
  if (configPromise === null) {
    configPromise = fetch("../config.json", { cache: "no-store" }).then((r) => {
      if (!r.ok) throw new Error(`config.json answered ${r.status}`);
      return r.json();
    });
  }
  return configPromise;
}

export function saved() {
  const raw = sessionStorage.getItem(CREDENTIALS);
  return raw ? JSON.parse(raw) : null;
}

export function forget() {
  sessionStorage.removeItem(CREDENTIALS);
}

// A network failure or a non-JSON answer becomes an error of the same shape as the API's own.
// A Blob body (a file) is sent as it is, labelled with its own type; anything else as JSON.
export async function call(method, path, body, token) {
  const { api_url: base } = await config();
  const credentials = token ?? saved()?.token;
  const headers = { Accept: "application/json" };
  if (credentials) headers.Authorization = `Bearer ${credentials}`;
  const file = body instanceof Blob;
  if (body !== undefined) headers["Content-Type"] = file ? body.type || "application/octet-stream" : "application/json";
  let response;
  try {
    response = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : file ? body : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    return failure(0, "unreachable", "The API cannot be reached. Retrying.");
  }
  if (response.status === 204) return { ok: true, status: 204, body: null };
  let parsed = null;
  try {
    parsed = await response.json();
  } catch (e) {
    if (!response.ok) return failure(response.status, "unavailable", `The API answered ${response.status}.`);
    return failure(response.status, "not_json", "The API answered something that is not JSON.");
  }
  return { ok: response.ok, status: response.status, body: parsed };
}

function failure(status, code, message) {
  return { ok: false, status, body: { error: { code, message, field: null } } };
}

export function errorOf(result) {
  return result.body?.error ?? { code: "unknown", message: `HTTP ${result.status}`, field: null };
}

// Signs in with a person's password (supervisor, agent) or an API key (merchant admin), then asks
// the API who the credentials are. Returns {ok, session} or {ok: false, error}.
export async function signIn({ merchantId, userId, password, apiKey }) {
  let token = apiKey;
  if (!apiKey) {
    const result = await call("POST", "/auth/sign-in", {
      merchant_id: merchantId,
      user_id: userId,
      password,
    });
    if (!result.ok) return { ok: false, error: errorOf(result) };
    token = result.body.token;
  }
  const me = await call("GET", "/auth/me", undefined, token);
  if (!me.ok) return { ok: false, error: errorOf(me) };
  const session = { token, ...me.body };
  sessionStorage.setItem(CREDENTIALS, JSON.stringify(session));
  return { ok: true, session };
}

// Elements without innerHTML: every value shown comes from the network.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
