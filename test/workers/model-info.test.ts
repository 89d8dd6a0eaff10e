// GET /v1/model answers from the GGUF header (R2 range reads) and never loads the weights in the Worker's isolate.
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { Env } from "../../src/env";
import { app } from "../../src/index";
import { HEADER_RANGE_BYTES } from "../../src/protocol/model-file";
import { host, ModelHost } from "../../src/session/model-host";
import { BASE, createSession, json, seedModel } from "./helpers";

interface Read {
  readonly key: string;
  readonly range?: { offset?: number; length?: number };
}

/** MODELS with every get() recorded (head() passes through unrecorded). */
function recordingBucket(): { bucket: R2Bucket; reads: Read[] } {
  const reads: Read[] = [];
  const bucket = {
    head: (key: string) => env.MODELS.head(key),
    get: (key: string, options?: R2GetOptions) => {
      reads.push({ key, range: options?.range as Read["range"] });
      return env.MODELS.get(key, options);
    },
  } as unknown as R2Bucket;
  return { bucket, reads };
}

const modelInfo = (bindings: Partial<Env>) => app.fetch(new Request(`${BASE}/v1/model`), { ...env, ...bindings });

beforeAll(seedModel);
afterEach(() => vi.restoreAllMocks());

describe("GET /v1/model", () => {
  it("reads only the header by ranges, loads no model, and reads nothing more until the file changes", async () => {
    // A name no test loaded: nothing is cached for it, in the host or in the Worker.
    const name = `model-info-${crypto.randomUUID()}.gguf`;
    await env.MODELS.put(name, env.TEST_MODEL_STORIES260K);
    const size = env.TEST_MODEL_STORIES260K.byteLength;
    const load = vi.spyOn(ModelHost.prototype, "model");
    const { bucket, reads } = recordingBucket();

    const m = await json(await modelInfo({ MODELS: bucket, MODEL_NAME: name }));
    expect(m).toMatchObject({ id: name, file_bytes: size, config: { dim: 64, n_layers: 5, n_heads: 8, n_kv_heads: 4, vocab_size: 512 } });
    expect(load).not.toHaveBeenCalled();
    expect(reads.length).toBeGreaterThan(0);
    for (const r of reads) expect(r).toEqual({ key: name, range: { offset: 0, length: Math.min(HEADER_RANGE_BYTES, size) } });
    expect(reads.reduce((n, r) => n + r.range!.length!, 0)).toBeLessThan(size);

    // Same file: answered from this isolate's cache (a HEAD only).
    reads.length = 0;
    await json(await modelInfo({ MODELS: bucket, MODEL_NAME: name }));
    expect(reads).toEqual([]);

    // Replaced by another file under the same name: its header is read again.
    await env.MODELS.put(name, env.TEST_MODEL_STORIES260K_Q8_0);
    const q8 = await json(await modelInfo({ MODELS: bucket, MODEL_NAME: name }));
    expect(q8.file_bytes).toBe(env.TEST_MODEL_STORIES260K_Q8_0.byteLength);
    expect(reads.length).toBeGreaterThan(0);
    expect(load).not.toHaveBeenCalled();
    await env.MODELS.delete(name);
  });

  it("reports what a session object that loaded the model runs: backend, file, template, default context, memory", async () => {
    const m = await json(await modelInfo({}));
    const model = await host.model(env);
    const c = model.config;
    expect({ name: m.name, architecture: m.architecture }).toEqual({ name: c.name, architecture: c.architecture });
    expect(m.config).toEqual({
      dim: c.dim, n_layers: c.nLayers, n_heads: c.nHeads, n_kv_heads: c.nKvHeads, head_dim: c.headDim, ffn_dim: c.ffnDim, vocab_size: c.vocabSize,
      n_ctx_train: c.nCtxTrain, rope_freq_base: c.ropeFreqBase, rope_freq_scale: c.ropeFreqScale, rms_eps: c.rmsEps, tied_output: c.tiedOutput,
    });
    expect(m.backend).toBe(model.backend.name);
    expect(m.file_bytes).toBe(model.fileBytes);
    expect(m.chat_template).toBe(host.chatTemplate(model) ?? null);
    expect(m.eog_tokens).toEqual([...model.tokenizer.eogIds].map((id) => ({ id, piece: model.tokenizer.tokenText(id) })));
    expect(m.default_n_ctx).toBe((await createSession()).settings.n_ctx);
    // The header's estimate of the weights is the loader's budget check; the backend's count is the truth it estimates.
    const weights = model.backend.memory().weightsBytes;
    expect(m.memory.weights_bytes).toBeGreaterThanOrEqual(weights * 0.9);
    expect(m.memory.weights_bytes).toBeLessThanOrEqual(weights * 1.1);
    expect(m.memory.used_bytes).toBe(m.memory.weights_bytes + m.memory.kv_bytes + m.memory.scratch_bytes);
    // One session at the default context: every layer's K and V, float32.
    expect(m.memory.kv_bytes).toBe(m.default_n_ctx * m.config.n_layers * 2 * m.config.n_kv_heads * m.config.head_dim * 4);
  });

  it("a model missing from the bucket is a 503 model_not_found; a file that is not GGUF a 500 model_load_failed", async () => {
    const missing = await json(await modelInfo({ MODEL_NAME: "no-such-model.gguf" }), 503);
    expect(missing.error).toMatchObject({ code: "model_not_found", type: "server_error", message: expect.stringMatching(/^model "no-such-model\.gguf" is not in the MODELS bucket/) });
    await env.MODELS.put("not-gguf.gguf", new TextEncoder().encode("not a model at all"));
    const broken = await json(await modelInfo({ MODEL_NAME: "not-gguf.gguf" }), 500);
    expect(broken.error).toMatchObject({ code: "model_load_failed", message: expect.stringMatching(/^model "not-gguf\.gguf" could not be loaded: /) });
    await env.MODELS.delete("not-gguf.gguf");
  });
});
