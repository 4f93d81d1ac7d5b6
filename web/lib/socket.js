// The event socket (API Gateway's WebSocket API in AWS, `make run`'s socket server locally): one
// JSON event per message. Reconnects with backoff; `onopen` runs on every (re)connection so the
// page can re-read what it may have missed while the socket was down.
import { config } from "./config.js";

const FIRST_RETRY_MS = 500;
const LAST_RETRY_MS = 10000;

export async function listen(token, { onevent, onopen, onstatus }) {
  const { ws_url: url } = await config();
  if (!url) {
    onstatus("no event socket configured");
    return { close() {} };
  }
  let socket = null;
  let retry = FIRST_RETRY_MS;
  let closed = false;
  let timer = null;

  function connect() {
    socket = new WebSocket(`${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`);
    socket.onopen = () => {
      retry = FIRST_RETRY_MS;
      onstatus("connected");
      if (onopen) onopen();
    };
    socket.onmessage = (message) => {
      try {
        onevent(JSON.parse(message.data));
      } catch (error) {
        console.error("event socket: unreadable message", error);
      }
    };
    socket.onclose = () => {
      if (closed) return;
      onstatus(`reconnecting in ${Math.round(retry / 1000)} s`);
      timer = setTimeout(connect, retry);
      retry = Math.min(retry * 2, LAST_RETRY_MS);
    };
  }

  connect();
  return {
    close() {
      closed = true;
      clearTimeout(timer);
      if (socket) socket.close();
    },
  };
}
