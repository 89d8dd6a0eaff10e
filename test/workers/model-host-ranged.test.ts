// The model host loads copying backends from R2 in ranges (header, then tensor by tensor), so the budget counts weights, not 2 × file.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { createBackendAsync } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { gguf, readGguf, tensorData, writeGguf } from "../../src/gguf/index";
import { HostError } from "../../src/protocol/errors";
import { ModelHost } from "../../src/session/model-host";
import { seedModel } from "./helpers";

beforeAll(seedModel);

const MiB = 2 ** 20;
const bytes = new Uint8Array(env.TEST_MODEL_STORIES260K);
const file = readGguf(bytes);
const largest = Math.max(...file.tensors.map((t) => t.nBytes));

type Read = { key: string; offset?: number; length?: number };

/** The MODELS bucket, recording every get: whole-object reads have no offset. */
function recordingBucket(): { bucket: R2Bucket; reads: Read[] } {
  const reads: Read[] = [];
  const bucket = {
    head: (key: string) => env.MODELS.head(key),
    get: (key: string, options?: R2GetOptions) => {
      const range = options?.range as { offset: number; length: number } | undefined;
      reads.push({ key, ...range });
      return env.MODELS.get(key, options);
    },
  } as unknown as R2Bucket;
  return { bucket, reads };
}

function lastLogits(model: LlamaModel, tokens: number[]): Float32Array {
  const ctx = new LlamaContext(model, { nCtx: 32 });
  ctx.append(tokens);
  const logits = ctx.nextLogits().slice();
  ctx.dispose();
  return logits;
}

describe("model host: ranged loading", () => {
  it("reads the header in growing ranges, then each tensor once, never the whole file; the model equals a whole-file load", async () => {
    const { bucket, reads } = recordingBucket();
    const model = await new ModelHost(4096).model({ ...env, MODELS: bucket });
    expect(file.dataOffset).toBeGreaterThan(8192); // so the header needs three reads: 4096, 8192, 16384 bytes
    expect(reads.slice(0, 3)).toEqual([4096, 8192, 16384].map((length) => ({ key: env.MODEL_NAME, offset: 0, length })));
    const tensorReads = reads.slice(3);
    expect(tensorReads.length).toBe(file.tensors.length);
    const byStart = new Map(file.tensors.map((t) => [file.dataOffset + t.offset, t.nBytes]));
    for (const r of tensorReads) expect(byStart.get(r.offset!)).toBe(r.length);
    expect(reads.every((r) => r.offset !== undefined)).toBe(true);

    const whole = LlamaModel.load(bytes, await createBackendAsync("wasm"));
    expect(lastLogits(model, [1, 403, 407, 261])).toEqual(lastLogits(whole, [1, 403, 407, 261]));
    expect(model.fileBytes).toBe(bytes.byteLength);
  });

  it("a model whose file is over half the budget but whose weights fit now loads", async () => {
    const budget = 1.5 * MiB;
    expect(2 * bytes.byteLength).toBeGreaterThan(budget); // refused under the old rule (file + a copy of it)
    const host = new ModelHost();
    const model = await host.model({ ...env, MEMORY_BUDGET_MB: String(budget / MiB) });
    expect(host.usedBytes(model)).toBeLessThanOrEqual(budget);
    expect(model.config.vocabSize).toBe(512);
  });

  it("a model that does not fit is refused with memory_budget_exceeded after the header, before any tensor is read", async () => {
    const weights = (await new ModelHost().model(env)).backend.memory().weightsBytes;
    // Room for the weights, but not for them plus the largest read in flight while loading (a whole tensor: all are under a chunk).
    const budget = weights + largest / 2;
    const { bucket, reads } = recordingBucket();
    const err = await new ModelHost().model({ ...env, MODELS: bucket, MEMORY_BUDGET_MB: String(budget / MiB) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe("memory_budget_exceeded");
    expect((err as Error).message).toMatch(/^loading model "stories260K\.gguf" \(about [\d.]+ MiB of weights, plus 0\.1 MiB for its largest read while loading\) does not fit in the memory budget of [\d.]+ MiB \(MEMORY_BUDGET_MB\)$/);
    expect(reads).toEqual([{ key: env.MODEL_NAME, offset: 0, length: Math.min(1 << 20, bytes.byteLength) }]);
  });

  it("the ref backend still reads the whole file once (its weights are views of the file bytes)", async () => {
    const { bucket, reads } = recordingBucket();
    const model = await new ModelHost().model({ ...env, MODELS: bucket, BACKEND: "ref" });
    expect(model.backend.name).toBe("ref");
    expect(reads).toEqual([{ key: env.MODEL_NAME }]);
  });

  it.each(["wasm", "ref"])("the chat template is read from the header (%s)", async (backend) => {
    const template = "{% for m in messages %}{{ m.content }}{% endfor %}";
    const name = `templated-${backend}.gguf`;
    const metadata = new Map(file.metadata).set("tokenizer.chat_template", gguf.str(template));
    const tensors = file.tensors.map((t) => ({ name: t.name, dims: t.dims, type: t.type, data: tensorData(file, t) }));
    await env.MODELS.put(name, writeGguf({ metadata, tensors }));
    const host = new ModelHost();
    const model = await host.model({ ...env, MODEL_NAME: name, BACKEND: backend });
    expect(host.chatTemplate(model)).toBe(template);
    expect(host.chatTemplate(await new ModelHost().model(env))).toBeUndefined();
  });

  it("a model removed from the bucket between head and read is model_not_found", async () => {
    const bucket = { head: (key: string) => env.MODELS.head(key), get: async () => null } as unknown as R2Bucket;
    const err = await new ModelHost().model({ ...env, MODELS: bucket }).catch((e: unknown) => e);
    expect((err as HostError).code).toBe("model_not_found");
    expect((err as Error).message).toContain("disappeared from the MODELS bucket");
  });
});
