// A streaming client for the session API: POST .../generate with stream:true, token frames timed as they arrive.

export interface SseFrame {
  readonly event: string;
  readonly data: string;
}

/** Yields the SSE frames of a response body as they complete (frames may be split across chunks anywhere). */
export async function* sseFrames(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffered.indexOf("\n\n")) >= 0) {
      const raw = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      let event = "message";
      let data = "";
      for (const line of raw.split("\n")) {
        if (line.startsWith("event: ")) event = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      yield { event, data };
    }
  }
}

export interface StreamResult {
  /** HTTP status of the response (0: the connection failed before one came). */
  readonly status: number;
  /** Parsed body of a non-200 answer. */
  readonly errorBody?: unknown;
  readonly retryAfterS?: number;
  /** Token ids in arrival order, with the ms (since the request was sent) each frame arrived at. */
  readonly tokens: number[];
  readonly arrivals: number[];
  /** The final `done` event's body, when the stream ended properly. */
  readonly done?: { finish_reason: string; tokens: number[]; text: string };
  /** An `error` event's body, or what broke the stream (a connection reset). */
  readonly streamError?: string;
}

export interface StreamOptions {
  readonly signal?: AbortSignal;
  readonly headers?: Record<string, string>;
  /** Called after each token frame (e.g. to stop reading). */
  onToken?(count: number): void;
}

/** Runs one streamed generation on a session and collects its frames. */
export async function streamGenerate(url: string, sessionId: string, body: Record<string, unknown>, opts: StreamOptions = {}): Promise<StreamResult> {
  const t0 = performance.now();
  const tokens: number[] = [];
  const arrivals: number[] = [];
  let res: Response;
  try {
    res = await fetch(`${url}/v1/sessions/${sessionId}/generate`, {
      method: "POST",
      headers: { "content-type": "application/json", ...opts.headers },
      body: JSON.stringify({ ...body, stream: true }),
      signal: opts.signal,
    });
  } catch (e) {
    return { status: 0, tokens, arrivals, streamError: String(e) };
  }
  if (res.status !== 200) {
    const text = await res.text();
    const retry = res.headers.get("retry-after");
    return { status: res.status, errorBody: safeJson(text), retryAfterS: retry === null ? undefined : Number(retry), tokens, arrivals };
  }
  try {
    for await (const f of sseFrames(res.body!)) {
      if (f.event === "token") {
        tokens.push((JSON.parse(f.data) as { token: number }).token);
        arrivals.push(performance.now() - t0);
        opts.onToken?.(tokens.length);
      } else if (f.event === "done") {
        return { status: 200, tokens, arrivals, done: JSON.parse(f.data) as StreamResult["done"] };
      } else if (f.event === "error") {
        return { status: 200, tokens, arrivals, streamError: f.data };
      }
    }
    return { status: 200, tokens, arrivals, streamError: "the stream ended without a done event" };
  } catch (e) {
    return { status: 200, tokens, arrivals, streamError: String(e) };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** POSTs JSON and returns the parsed answer, throwing on an unexpected status. */
export async function postJson<T>(url: string, body: unknown, expected = 200, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== expected) throw new Error(`POST ${url}: expected ${expected}, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** GETs JSON, throwing on anything but 200. */
export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url}: expected 200, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}
