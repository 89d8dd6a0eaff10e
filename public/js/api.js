// The playground's HTTP client: JSON calls and POST-streamed Server-Sent Events, with the optional API key as a bearer token.

const KEY_STORAGE = "edge-llama.apiKey";

export function apiKey() {
  return localStorage.getItem(KEY_STORAGE) ?? "";
}

export function setApiKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

/** An error answer of the API: its message, HTTP status and code (e.g. invalid_api_key, session_not_found). */
export class ApiError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function headers(json) {
  const h = {};
  if (json) h["content-type"] = "application/json";
  const key = apiKey();
  if (key) h.authorization = `Bearer ${key}`;
  return h;
}

async function failure(res) {
  let message = `${res.status} ${res.statusText}`;
  let code = "http_error";
  try {
    const body = await res.json();
    if (body?.error?.message) ({ message, code } = body.error);
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(message, res.status, code);
}

/** One JSON request; resolves to the parsed body or throws ApiError. */
export async function api(method, path, body) {
  const res = await fetch(path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw await failure(res);
  return res.json();
}

/**
 * POSTs `body` and yields the SSE frames of the answer as {event, data} (data parsed as JSON, except "[DONE]").
 * EventSource cannot POST, so the stream is read and split here; aborting `signal` cancels the generation.
 */
export async function* postEvents(path, body, signal) {
  const res = await fetch(path, { method: "POST", headers: headers(true), body: JSON.stringify(body), signal });
  if (!res.ok) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let end;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const frame = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of frame.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      if (data) yield { event, data: data === "[DONE]" ? data : JSON.parse(data) };
    }
  }
}
