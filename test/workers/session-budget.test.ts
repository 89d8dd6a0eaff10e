// The per-request time budget (REQUEST_BUDGET_MS): a long generation ends with "length" and can_continue, and the next request continues exactly.
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { LlamaSession } from "../../src/session/llama-session";
import type { GenerateEvent, GenerateStart, Result } from "../../src/protocol";
import { call, createSession, json, referenceRun, seedModel } from "./helpers";

beforeAll(seedModel);

type Done = Extract<GenerateEvent, { type: "done" }>;

/**
 * Generates in a fresh instance of the session's object whose env sets REQUEST_BUDGET_MS, reading one event per
 * macrotask as an RPC reader would (Workers clocks only move between I/O events).
 */
function generateWithBudget(id: string, budgetMs: string, maxTokens: number, text?: string): Promise<Done> {
  return runInDurableObject(env.SESSIONS.getByName(id), async (_instance: LlamaSession, state) => {
    const session = new LlamaSession(state, { ...env, REQUEST_BUDGET_MS: budgetMs });
    const start = (await session.generate({ text, maxTokens })) as Result<GenerateStart>;
    if (!start.ok) throw new Error(start.error.message);
    const reader = start.value.events.getReader();
    let buffered = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += new TextDecoder().decode(value);
      await new Promise((r) => setTimeout(r, 3));
    }
    const last = JSON.parse(buffered.trim().split("\n").at(-1)!) as GenerateEvent;
    if (last.type !== "done") throw new Error(`stream ended with ${JSON.stringify(last)}`);
    return last;
  });
}

describe("per-request budget", () => {
  it("a tiny budget ends the request early with length/can_continue, and continuing gives the uninterrupted greedy run", async () => {
    const run = referenceRun();
    const s = await createSession({ temperature: 0 });
    const first = await generateWithBudget(s.id, "10", 60, run.prompt);
    expect(first).toMatchObject({ finishReason: "length", canContinue: true });
    // At least one token per request (so every request makes progress), far fewer than asked for.
    expect(first.tokens.length).toBeGreaterThanOrEqual(1);
    expect(first.tokens.length).toBeLessThan(60);
    const second = await generateWithBudget(s.id, "10", 60 - first.tokens.length);
    expect(second.prefillTokens).toBe(1);
    const rest = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { max_tokens: 64 - first.tokens.length - second.tokens.length }));
    expect([...first.tokens, ...second.tokens, ...rest.tokens]).toEqual(run.generatedTokens);
    const info = await json(await call("GET", `/v1/sessions/${s.id}`));
    expect(info.last_finish_reason).toBe("length");
    expect(info.token_count).toBe(run.promptTokens.length + 64);
  });

  it("a budget large enough lets max_tokens decide", async () => {
    const s = await createSession({ temperature: 0 });
    const done = await generateWithBudget(s.id, "600000", 12, referenceRun().prompt);
    expect(done).toMatchObject({ finishReason: "length", canContinue: true });
    expect(done.tokens).toEqual(referenceRun().generatedTokens.slice(0, 12));
  });
});
