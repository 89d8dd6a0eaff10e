// SIGKILL of `wrangler dev` mid-stream at seeded random points: after a restart the session is at its last commit and continues exactly.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevServer } from "../../scripts/lib/dev-server";
import { synthModel } from "../../scripts/lib/synth/model";
import { killMidStream, sessionCalls, startDevWithModel } from "../helpers/dev-model";
import { seededRandom } from "../helpers/random";

// A stories15M-shaped model (random weights, seed 1) on the reference backend decodes ~40 tokens/s on one core: slow
// enough that a kill lands mid-generation, and the seeded sampled tokens are still fully deterministic.
const MODEL = "faults-stories15M-q8_0.gguf";
const PERSIST_EVERY = 8;
// stories15M: 6 layers × (K + V) × 288 floats × 4 bytes per position; pages of 10 positions, so commits cross pages.
const BYTES_PER_POSITION = 6 * 2 * 288 * 4;
const POSITIONS_PER_PAGE = 10;
const M = 80;
const SAMPLING = { temperature: 0.9, top_k: 40, seed: 20261129 };
const PROMPT = "Once upon a time";
const KILLS = 4;

/** True when `sub` appears in `seq` in order (not necessarily contiguously). */
function isSubsequence(sub: readonly number[], seq: readonly number[]): boolean {
  let j = 0;
  for (const t of seq) if (j < sub.length && sub[j] === t) j++;
  return j === sub.length;
}

describe("faults: SIGKILL mid-stream", () => {
  let dev: DevServer;
  beforeAll(async () => {
    dev = await startDevWithModel("edge-llama-faults-", MODEL, synthModel({ shape: "stories15M", type: "q8_0", seed: 1 }), {
      MODEL_NAME: MODEL,
      BACKEND: "ref",
      // The ref backend on a loaded 2-core machine can take over the default 20 s per request for these 80 tokens;
      // the time budget is not what this test is about (the budget tests cover it), so it must not cut a run short.
      REQUEST_BUDGET_MS: "600000",
      PERSIST_EVERY: String(PERSIST_EVERY),
      KV_PAGE_BYTES: String(BYTES_PER_POSITION * POSITIONS_PER_PAGE),
      N_CTX: "256",
    });
  });
  afterAll(async () => {
    await dev?.dispose();
  });

  const { create, info, generate } = sessionCalls(() => dev, SAMPLING);

  it(`resumes from the last commit and gives exactly the uninterrupted run's tokens (${KILLS} seeded kill points)`, async () => {
    // The uninterrupted run: same seed, same prompt, M tokens in one request.
    const reference = await create();
    const full = await generate(reference.id, { text: PROMPT, max_tokens: M });
    expect(full.tokens).toHaveLength(M);
    const promptTokens = full.usage.input_tokens;
    const fullText = (await info(reference.id)).text;

    const random = seededRandom(7);
    const outcomes: { killAfter: number; committed: number }[] = [];
    for (let i = 0; i < KILLS; i++) {
      // Past the first commit and well before the end (so the kill surely lands mid-generation).
      const killAfter = PERSIST_EVERY + 2 + Math.floor(random() * (M - PERSIST_EVERY - 14));
      const s = await create();
      const streamed = await killMidStream(dev, s.id, { text: PROMPT, max_tokens: M }, killAfter);
      // The stream broke: the kill came before the generation ended.
      expect(streamed.done).toBeUndefined();
      // Token frames skip tokens whose text is held back (part of a UTF-8 character): what arrived is in order within the run.
      expect(isSubsequence(streamed.tokens, full.tokens)).toBe(true);
      await dev.restart();

      const after = await info(s.id);
      expect(after.generating).toBe(false);
      // Nothing committed yet (the kill came before the first checkpoint): the session is as created.
      const committed = after.token_count === 0 ? 0 : after.token_count - promptTokens;
      outcomes.push({ killAfter, committed });
      // Commits happen every PERSIST_EVERY tokens, and every token the client saw was sent after the commit before it
      // (at least killAfter tokens were generated: frames are only sent for tokens with text).
      expect(committed % PERSIST_EVERY).toBe(0);
      expect(committed).toBeGreaterThanOrEqual(Math.floor(killAfter / PERSIST_EVERY) * PERSIST_EVERY);
      expect(committed).toBeLessThan(M);
      if (committed > 0) {
        // Token log, cache pages and text agree: the last sampled token is pending, every other position is in the pages.
        expect(after.evaluated_tokens).toBe(after.token_count - 1);
        expect(after.storage.kv_bytes).toBe(after.evaluated_tokens * BYTES_PER_POSITION);
        expect(after.storage.kv_pages).toBe(Math.ceil(after.evaluated_tokens / POSITIONS_PER_PAGE));
        expect(fullText.startsWith(after.text)).toBe(true);
      }
      const rest = await generate(s.id, committed === 0 ? { text: PROMPT, max_tokens: M } : { max_tokens: M - committed });
      expect(rest.tokens).toEqual(full.tokens.slice(committed));
      expect((await info(s.id)).text).toBe(fullText);
    }
    console.log(`fault kill points (tokens seen → tokens committed): ${outcomes.map((o) => `${o.killAfter}→${o.committed}`).join(", ")}`);
  });
});
