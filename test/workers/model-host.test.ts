// The per-isolate model host: one load shared by concurrent callers, a memory budget checked before loading, LRU context eviction.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { HostError } from "../../src/protocol/errors";
import { ModelHost, type ContextOwner } from "../../src/session/model-host";
import { seedModel } from "./helpers";

beforeAll(seedModel);

const owner = (): ContextOwner & { dropped: boolean; busy: boolean } => {
  const o = { dropped: false, busy: false, idle: () => !o.busy, dropContext: () => void (o.dropped = true) };
  return o;
};

describe("model host", () => {
  it("concurrent first requests share one load; later ones get the same model", async () => {
    const host = new ModelHost();
    const [a, b] = await Promise.all([host.model(env), host.model(env)]);
    expect(a).toBe(b);
    expect(await host.model(env)).toBe(a);
    expect(a.config.vocabSize).toBe(512);
  });

  it("a model over the memory budget is refused before it is downloaded, with a clear error", async () => {
    const err = await new ModelHost().model({ ...env, MEMORY_BUDGET_MB: "1" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HostError);
    expect((err as HostError).code).toBe("memory_budget_exceeded");
    expect((err as HostError).message).toMatch(/does not fit in the memory budget of 1\.0 MiB \(MEMORY_BUDGET_MB\)/);
  });

  it("a missing model is reported by name, and the next call retries", async () => {
    const host = new ModelHost();
    const err = await host.model({ ...env, MODEL_NAME: "missing.gguf" }).catch((e: unknown) => e);
    expect((err as HostError).code).toBe("model_not_found");
    expect((err as Error).message).toContain("missing.gguf");
    expect((await host.model(env)).config.vocabSize).toBe(512);
  });

  it("contexts over the budget drop idle ones (least recently used first); a busy one is never dropped", async () => {
    const host = new ModelHost();
    const model = await host.model(env);
    const used = host.usedBytes(model);
    const kv512 = 512 * 1280;
    // Room for the model and about two contexts of 512 tokens.
    const small = { ...env, MEMORY_BUDGET_MB: String((used + 2.5 * kv512 + 200_000) / 2 ** 20) };
    const [a, b, c] = [owner(), owner(), owner()];
    host.createContext(small, model, a, 512);
    host.createContext(small, model, b, 512);
    host.touch(a);
    host.createContext(small, model, c, 512);
    expect([a.dropped, b.dropped, c.dropped]).toEqual([false, true, false]);
    a.busy = true;
    c.busy = true;
    const d = owner();
    expect(() => host.createContext(small, model, d, 512)).toThrowError(/does not fit in the memory budget/);
    for (const o of [a, c]) host.release(o);
  });

  it("a freed context's memory serves the next one of another size: wasm memory stays what the host counts", async () => {
    const host = new ModelHost();
    const model = await host.model(env);
    const [a, b] = [owner(), owner()];
    host.createContext(env, model, a, 512);
    const reserved = model.backend.memory().reservedBytes!;
    expect(host.usedBytes(model)).toBeGreaterThanOrEqual(reserved);
    host.release(a);
    host.createContext(env, model, b, 256);
    expect(model.backend.memory().reservedBytes).toBe(reserved);
    host.release(b);
  });
});
