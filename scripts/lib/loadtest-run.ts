// The load test itself: N sessions × M streamed tokens at a given concurrency, then many requests on one session; timings and outcomes.
import { getJson, postJson, streamGenerate, type StreamResult } from "./loadtest-sse";

export interface LoadOptions {
  readonly url: string;
  /** Sessions of the first phase, each generating `tokens` tokens in one streamed request. */
  readonly sessions: number;
  readonly tokens: number;
  /** Requests in flight at once (both phases). */
  readonly concurrency: number;
  /** Requests of the second phase, all on one session (0 skips it). */
  readonly oneSessionRequests: number;
  readonly prompt: string;
  readonly seed: number;
  /** Give up waiting (and report) after this long; the run never outlives it. */
  readonly deadlineMs: number;
  readonly headers?: Record<string, string>;
}

/** One request as it finally went, after retrying the intended refusals (429 admission, 409 busy session). */
export interface RequestOutcome {
  readonly result: StreamResult;
  readonly refusals: { readonly 409: number; readonly 429: number };
}

export interface PhaseReport {
  readonly name: string;
  readonly requests: number;
  readonly wallMs: number;
  readonly outcomes: RequestOutcome[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `task(i)` for i < n with at most `concurrency` in flight. */
async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      out[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  return out;
}

/** Streams one generation, waiting and retrying while the server refuses as intended (429 Retry-After, 409 busy). */
async function generateWithRetry(opts: LoadOptions, sessionId: string, body: Record<string, unknown>, deadline: number): Promise<RequestOutcome> {
  const refusals = { 409: 0, 429: 0 };
  for (;;) {
    const signal = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
    const result = await streamGenerate(opts.url, sessionId, body, { signal, headers: opts.headers });
    if ((result.status !== 429 && result.status !== 409) || Date.now() >= deadline) return { result, refusals };
    refusals[result.status]++;
    // A 409 clears when the session's current generation ends: poll briefly rather than the full Retry-After.
    await sleep(result.status === 429 ? (result.retryAfterS ?? 1) * 1000 : 25);
  }
}

async function createSession(opts: LoadOptions, seed: number): Promise<{ id: string; settings: { n_ctx: number } }> {
  return postJson(`${opts.url}/v1/sessions`, { temperature: 0.8, top_k: 40, seed }, 201, opts.headers);
}

async function phase(name: string, n: number, concurrency: number, run: (i: number) => Promise<RequestOutcome>): Promise<PhaseReport> {
  const start = performance.now();
  const outcomes = await pool(n, concurrency, run);
  return { name, requests: n, wallMs: performance.now() - start, outcomes };
}

/** Phase 1: each session streams `tokens` tokens after the prompt. */
export function sessionsPhase(opts: LoadOptions, deadline: number): Promise<PhaseReport> {
  return phase(`${opts.sessions} sessions × ${opts.tokens} tokens`, opts.sessions, opts.concurrency, async (i) => {
    const s = await createSession(opts, opts.seed + i);
    return generateWithRetry(opts, s.id, { text: opts.prompt, max_tokens: opts.tokens }, deadline);
  });
}

/**
 * Phase 2: requests sent at once to ONE session; it runs one at a time (the others get 409 and retry). Each request
 * asks for fewer tokens when needed so that all of them fit in the session's context.
 */
export async function oneSessionPhase(opts: LoadOptions, deadline: number): Promise<PhaseReport & { tokensPerRequest: number }> {
  const s = await createSession(opts, opts.seed);
  const n = opts.oneSessionRequests;
  const tokensPerRequest = Math.max(1, Math.min(opts.tokens, Math.floor((s.settings.n_ctx - 32) / n) - 2));
  const report = await phase(`1 session × ${n} requests × ${tokensPerRequest} tokens`, n, opts.concurrency, (i) =>
    generateWithRetry(opts, s.id, { text: i === 0 ? opts.prompt : " and", max_tokens: tokensPerRequest }, deadline),
  );
  // The session must have kept every request's tokens, in one piece.
  const info = await getJson<{ token_count: number; generating: boolean }>(`${opts.url}/v1/sessions/${s.id}`, opts.headers);
  if (info.generating) throw new Error("the shared session still reports a generation in progress after every request ended");
  return { ...report, tokensPerRequest };
}
