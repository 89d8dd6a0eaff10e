// Storage accounting under random generate/rewind sequences: reported bytes = the KV page arithmetic + token log, rows agree, DELETE frees all.
import { env, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { metaNumber, readGguf } from "../../src/gguf/index";
import type { LlamaSession } from "../../src/session/llama-session";
import { call, createSession, json, seedModel } from "./helpers";

beforeAll(seedModel);

/** Bytes of one position's K and V over all layers, from the GGUF header: layers × kv_dim × 2 (K, V) × 4 (f32). */
function bytesPerPosition(): number {
  const f = readGguf(new Uint8Array(env.TEST_MODEL_STORIES260K));
  const n = (k: string) => Number(metaNumber(f, `llama.${k}`));
  const kvDim = (n("embedding_length") / n("attention.head_count")) * n("attention.head_count_kv");
  return n("block_count") * kvDim * 2 * 4;
}
const PER_POSITION = bytesPerPosition();
const PER_PAGE = Math.floor(Number(env.KV_PAGE_BYTES) / PER_POSITION);

/** What the object's SQLite holds, read directly. */
function rows(id: string) {
  return runInDurableObject(env.SESSIONS.getByName(id), (_i: LlamaSession, state) => {
    const sql = state.storage.sql;
    const tables = sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('state', 'kv_pages')").toArray().length;
    if (tables === 0) return null;
    const pages = sql.exec("SELECT page, length(data) AS bytes FROM kv_pages ORDER BY page").toArray().map((r) => [Number(r.page), Number(r.bytes)] as const);
    const st = sql.exec("SELECT length(tokens) AS log, length(settings) + length(sampler) + coalesce(length(last_finish), 0) AS rest FROM state").one();
    return { pages, tokenLogBytes: Number(st.log), otherStateBytes: Number(st.rest) };
  });
}

/** Every invariant between the reported storage, the page arithmetic and the rows. */
async function expectAccounted(id: string): Promise<void> {
  const s = await json(await call("GET", `/v1/sessions/${id}`));
  const e = s.evaluated_tokens as number;
  const r = (await rows(id))!;
  // Pending tokens (the last sampled one, or text sent with max_tokens 0) are in the log but not yet in the pages.
  expect(e).toBeLessThanOrEqual(s.token_count);
  expect(s.storage).toMatchObject({ bytes_per_position: PER_POSITION, positions_per_page: PER_PAGE, kv_bytes: e * PER_POSITION, kv_pages: Math.ceil(e / PER_PAGE) });
  // Pages 0..n-1, each holding exactly its evaluated positions (nothing past the end survives a rewind).
  expect(r.pages).toEqual(Array.from({ length: Math.ceil(e / PER_PAGE) }, (_, p) => [p, Math.min(PER_PAGE, e - p * PER_PAGE) * PER_POSITION]));
  // The token log is 4 bytes a token; the state row is the log plus settings and sampler.
  expect(r.tokenLogBytes).toBe(4 * s.token_count);
  expect(s.storage.state_bytes).toBe(r.tokenLogBytes + r.otherStateBytes);
  expect(s.storage.stored_bytes).toBe(s.storage.kv_bytes + s.storage.state_bytes);
}

type Op = { kind: "generate"; text: string; tokens: number } | { kind: "rewind"; fraction: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("generate" as const), text: fc.constantFrom("", "Once upon a time", " and", " the dog"), tokens: fc.integer({ min: 0, max: 27 }) }),
  fc.record({ kind: fc.constant("rewind" as const), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }),
);

describe("storage accounting", () => {
  it(`random generate/rewind sequences keep bytes = evaluated × ${PER_POSITION} in pages of ${PER_PAGE} positions, plus the token log`, async () => {
    let sessions = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 1000 }), async (ops, seed) => {
        const s = await createSession({ temperature: 0.7, seed, n_ctx: 160 });
        sessions++;
        await expectAccounted(s.id);
        for (const o of ops) {
          const info = await json(await call("GET", `/v1/sessions/${s.id}`));
          if (o.kind === "generate") {
            const res = await call("POST", `/v1/sessions/${s.id}/generate`, { text: o.text, max_tokens: o.tokens });
            // Clean refusals: an empty session without text (400), a full context (400 context_length_exceeded); anything else must succeed.
            if (res.status !== 200) {
              const err = await json(res, res.status);
              expect(err.error.code).toBe(info.token_count === 0 && o.text === "" ? "empty_sequence" : "context_length_exceeded");
            }
          } else {
            await json(await call("POST", `/v1/sessions/${s.id}/rewind`, { tokens: Math.floor(o.fraction * info.token_count) }));
          }
          await expectAccounted(s.id);
        }
        await json(await call("DELETE", `/v1/sessions/${s.id}`));
        expect(await rows(s.id)).toBeNull();
        const gone = await runInDurableObject(env.SESSIONS.getByName(s.id), (_i: LlamaSession, state) => state.storage.sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('state', 'kv_pages')").one().n);
        expect(gone).toBe(0);
      }),
      { seed: 7, numRuns: 25 },
    );
    expect(sessions).toBe(25);
  });

  it("a rewind frees exactly the pages past the new end (bytes go down by the page arithmetic)", async () => {
    const s = await createSession({ temperature: 0 });
    await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: "Once upon a time", max_tokens: 60 }));
    const before = await json(await call("GET", `/v1/sessions/${s.id}`));
    for (const n of [47, 40, 39, 11, 10, 1, 0]) {
      const after = await json(await call("POST", `/v1/sessions/${s.id}/rewind`, { tokens: n }));
      expect(after.storage.kv_pages).toBe(Math.ceil(n / PER_PAGE));
      expect(before.storage.kv_bytes - after.storage.kv_bytes).toBe((before.evaluated_tokens - n) * PER_POSITION);
      expect((await rows(s.id))!.tokenLogBytes).toBe(4 * n);
      await expectAccounted(s.id);
    }
  });
});
