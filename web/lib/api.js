// The HTTP API with the signed-in person's token. Errors carry the API's one error shape
// ({error: {code, message, field}}) so a page can show the message next to the field it names.
import { config } from "./config.js";

const TOKEN_KEY = "switchboard.session";

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `the API answered ${status}`);
    this.status = status;
    this.code = error.code || null;
    this.field = error.field || null;
  }
}

export function session() {
  const raw = sessionStorage.getItem(TOKEN_KEY);
  if (!raw) return null;
  const parsed = JSON.parse(raw);
  return parsed.expires_at > Date.now() ? parsed : null;
}

export function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export async function api(method, path, body) {
  const { api_url: base } = await config();
  const headers = { Accept: "application/json" };
  const current = session();
  if (current) headers.Authorization = `Bearer ${current.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

export async function signIn(merchantId, userId, password) {
  const signed = await api("POST", "/auth/sign-in", {
    merchant_id: merchantId,
    user_id: userId,
    password,
  });
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(signed));
  return signed;
}
