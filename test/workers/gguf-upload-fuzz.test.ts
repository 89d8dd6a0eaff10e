// Malformed GGUF uploads through the Worker's own loading path (R2 → model host): a clear error or a model, and the isolate keeps serving.
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { readGguf } from "../../src/gguf/index";
import { HostError } from "../../src/protocol/errors";
import { host } from "../../src/session/model-host";
import { call, json, seedModel } from "./helpers";

beforeAll(seedModel);

const NAME = "fuzz-upload.gguf";
// The host keeps the model it loaded under a name: each case uploads under a name of its own.
let uploads = 0;
const good = new Uint8Array(env.TEST_MODEL_STORIES260K);
/** Header, metadata (vocabulary included) and tensor infos: where a flipped bit changes what the loader must check. */
const HEADER_END = readGguf(good).dataOffset;

type Mutation = { kind: string; bytes: Uint8Array };

const flip = (bytes: Uint8Array, flips: readonly { at: number; bit: number }[]) => {
  const out = bytes.slice();
  for (const f of flips) out[f.at]! ^= 1 << f.bit;
  return out;
};

const u64At = (at: number, value: bigint) => {
  const out = good.slice();
  new DataView(out.buffer).setBigUint64(at, value, true);
  return out;
};

const flips = (max: number) => fc.array(fc.record({ at: fc.integer({ min: 0, max: max - 1 }), bit: fc.integer({ min: 0, max: 7 }) }), { minLength: 1, maxLength: 8 });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.integer({ min: 0, max: good.length - 1 }).map((n) => ({ kind: "truncated", bytes: good.slice(0, n) })),
  flips(HEADER_END).map((f) => ({ kind: "header bit flips", bytes: flip(good, f) })),
  flips(good.length).map((f) => ({ kind: "bit flips anywhere", bytes: flip(good, f) })),
  fc.uint8Array({ maxLength: 4096 }).map((b) => ({ kind: "random bytes", bytes: b })),
  fc.uint8Array({ maxLength: 4096 }).map((b) => ({ kind: "magic + random", bytes: new Uint8Array([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0, ...b]) })),
  // Tensor and metadata counts (u64 at 8 and 16): huge, off by one, zero.
  fc.constantFrom(8, 16).chain((at) => fc.constantFrom(0n, 1n, 2n ** 63n, 2n ** 64n - 1n, 1000000n).map((v) => ({ kind: `count at ${at}`, bytes: u64At(at, v) }))),
);

/** Messages of errors that escaped the loader's checks (a crash), rather than naming what is wrong with the file. */
const CRASH = /undefined|null|is not a function|Cannot read|Maximum call stack|Invalid array length|out of memory|RangeError|TypeError/;

describe("GGUF upload fuzz", () => {
  it("150 seeded malformed uploads: each loads or fails with a clear HostError; the served model keeps working", async () => {
    const outcomes = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(mutation, async ({ kind, bytes }) => {
        const name = `fuzz-${++uploads}.gguf`;
        await env.MODELS.put(name, bytes);
        let outcome: string;
        try {
          const model = await host.model({ ...env, MODEL_NAME: name });
          expect(model.config.nLayers).toBeGreaterThan(0);
          outcome = "loaded";
        } catch (e) {
          expect(e, kind).toBeInstanceOf(HostError);
          const err = e as HostError;
          expect(["model_load_failed", "memory_budget_exceeded"]).toContain(err.code);
          expect(err.message).toContain(`"${name}"`);
          expect(err.message, kind).not.toMatch(CRASH);
          outcome = err.code;
        }
        outcomes.set(`${kind}: ${outcome}`, (outcomes.get(`${kind}: ${outcome}`) ?? 0) + 1);
        await env.MODELS.delete(name);
      }),
      { seed: 424242, numRuns: 150 },
    );
    // The fuzz reached both outcomes (not only files the reader rejects at the magic).
    expect([...outcomes.keys()].some((k) => k.endsWith("model_load_failed"))).toBe(true);
    expect([...outcomes.keys()].some((k) => k.endsWith("loaded"))).toBe(true);
    // The isolate still serves its own model, end to end.
    const r = await json(await call("POST", "/v1/completions", { prompt: "Once upon a time", max_tokens: 4, temperature: 0 }));
    expect(r.usage.completion_tokens).toBe(4);
    console.log("gguf upload fuzz outcomes:", JSON.stringify(Object.fromEntries([...outcomes].sort())));
  });

  it("a failed load is not cached: re-uploading a good file makes the same name load", async () => {
    await env.MODELS.put(NAME, good.slice(0, 1000));
    const err = await host.model({ ...env, MODEL_NAME: NAME }).catch((e: unknown) => e as HostError);
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).message).toMatch(/^model "fuzz-upload\.gguf" could not be loaded: /);
    await env.MODELS.put(NAME, good);
    expect((await host.model({ ...env, MODEL_NAME: NAME })).config.vocabSize).toBe(512);
  });
});
