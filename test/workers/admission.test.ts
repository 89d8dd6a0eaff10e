// Admission control: past MAX_CONCURRENT_GENERATIONS (default 4) a generation gets 429 + Retry-After; every way a run ends frees its slot.
import { beforeAll, describe, expect, it } from "vitest";
import { admission, DEFAULT_MAX_GENERATIONS } from "../../src/session/admission";
import { call, createSession, json, referenceRun, seedModel } from "./helpers";

beforeAll(seedModel);

/** Starts a streamed generation and reads its first frame, so it holds a slot until it is read to the end or cancelled. */
async function holdGeneration(): Promise<ReadableStreamDefaultReader<Uint8Array>> {
  const s = await createSession({ temperature: 0 });
  const res = await call("POST", `/v1/sessions/${s.id}/generate`, { text: referenceRun().prompt, max_tokens: 400, stream: true });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  await reader.read();
  return reader;
}

/** Polls until every slot is free (a cancelled stream finishes its current token first). */
async function waitAllFree(): Promise<void> {
  for (let i = 0; i < 500 && admission.inUse > 0; i++) await new Promise((r) => setTimeout(r, 10));
  expect(admission.inUse).toBe(0);
}

function expectRateLimited(res: Response, body: any) {
  expect(res.status).toBe(429);
  expect(res.headers.get("retry-after")).toBe("1");
  expect(body.error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded", param: null });
  expect(body.error.message).toMatch(/too many generations in progress \(limit 4 per instance\)/);
}

describe("admission control", () => {
  it("the fifth concurrent generation is refused with 429 and Retry-After, on every generating route", async () => {
    const readers = await Promise.all(Array.from({ length: DEFAULT_MAX_GENERATIONS }, holdGeneration));
    expect(admission.inUse).toBe(DEFAULT_MAX_GENERATIONS);
    const s = await createSession({ temperature: 0 });
    for (const [path, body] of [
      [`/v1/sessions/${s.id}/generate`, { text: "Once", max_tokens: 5 }],
      ["/v1/completions", { prompt: "Once", max_tokens: 5 }],
      ["/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 5 }],
      ["/v1/completions", { prompt: "Once", max_tokens: 5, session_id: s.id }],
    ] as const) {
      const res = await call("POST", path, body);
      expectRateLimited(res, await res.json());
    }
    // The refused request changed nothing in its session.
    expect((await json(await call("GET", `/v1/sessions/${s.id}`))).token_count).toBe(0);
    expect(admission.inUse).toBe(DEFAULT_MAX_GENERATIONS);

    // One finishes (read to the end): its slot serves the next request.
    while (!(await readers[0]!.read()).done);
    expect(admission.inUse).toBe(DEFAULT_MAX_GENERATIONS - 1);
    const next = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: "Once", max_tokens: 5 }));
    expect(next.tokens).toHaveLength(5);
    // Client disconnects free theirs too.
    for (const r of readers.slice(1)) await r.cancel();
    await waitAllFree();
  });

  it("refused generations give their slot back (a prompt over the context, an unknown session)", async () => {
    const s = await createSession({ n_ctx: 8, temperature: 0 });
    await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: "Once upon a time there was a little girl named Lily" }), 400);
    await json(await call("POST", `/v1/sessions/0123456789abcdef0123456789abcdef/generate`, {}), 404);
    expect(admission.inUse).toBe(0);
    // More sequential requests than slots: none leaks one.
    for (let i = 0; i < DEFAULT_MAX_GENERATIONS + 2; i++) await json(await call("POST", "/v1/completions", { prompt: "Once", max_tokens: 2 }));
    expect(admission.inUse).toBe(0);
  });

  it("one-shot completions count while they stream and free their slot when the client goes away", async () => {
    const res = await call("POST", "/v1/completions", { prompt: referenceRun().prompt, max_tokens: 400, stream: true, temperature: 0 });
    const reader = res.body!.getReader();
    await reader.read();
    expect(admission.inUse).toBe(1);
    await reader.cancel();
    await waitAllFree();
  });
});
