// `npm run shards:config`: one wrangler config per shard script for stories260K at 0.5 MiB (names, bindings, fingerprint), the refusals, and the Worker's choice of binding.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/local-r2";
import { configArgs, mergedVars, parseVar, shardsConfigs, writeShardsConfigs, type RawWorkerConfig } from "../../scripts/lib/shards-config";
import { fileBucket, planFor, readWorkerConfig } from "../../scripts/lib/shards-config-plan";
import { configFromGguf } from "../../src/engine/config";
import type { Env } from "../../src/env";
import { readGgufHeader } from "../../src/gguf/index";
import { HostError } from "../../src/protocol/errors";
import { planShards, type ShardPlan } from "../../src/shard/plan";
import { planFingerprint } from "../../src/shard/plan-fingerprint";
import { checkShardScripts, shardNamespace } from "../../src/shard/shard-scripts";

const MODEL = join(ROOT, "models/stories260K.gguf");
const WRANGLER_TOML = join(ROOT, "wrangler.toml");
const tmp = mkdtempSync(join(tmpdir(), "edge-llama-shards-config-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The generated file as wrangler reads it: a leading `//` comment line, then JSON. */
const readJsonc = (path: string) => JSON.parse(readFileSync(path, "utf8").replace(/^\/\/.*\n/, "")) as Record<string, any>;

async function generate(overrides: Record<string, string>, out = join(tmp, "out")) {
  const raw = await readWorkerConfig(WRANGLER_TOML);
  const vars = mergedVars(raw, { MODEL_NAME: "stories260K.gguf", ...overrides });
  const plan = await planFor(fileBucket(MODEL, "stories260K.gguf"), vars);
  return { raw, vars, plan, configs: shardsConfigs({ raw, configPath: WRANGLER_TOML, outDir: out, vars, plan }) };
}

describe("shards:config for stories260K at MEMORY_BUDGET_MB=0.5", () => {
  it("plans exactly as the Worker's planner and writes one config per shard plus the main Worker's bindings", async () => {
    const { raw, vars, plan, configs } = await generate({ MEMORY_BUDGET_MB: "0.5", N_CTX: "128" });
    // The planner on the header read directly from the file, with the vars' numbers: the same plan.
    const bytes = new Uint8Array(readFileSync(MODEL));
    const header = readGgufHeader(bytes, bytes.byteLength);
    const direct = planShards({ config: configFromGguf(header), tensors: header.tensors }, { budgetBytes: 0.5 * 2 ** 20, nCtx: 128, sessionsPerShard: 1 });
    expect(plan).toEqual(direct);
    expect(plan.shards).toHaveLength(7);
    expect(configs.fingerprint).toBe(planFingerprint(plan));
    expect(configs.fingerprint.startsWith(`7x${0.5 * 2 ** 20}b128c1s;`)).toBe(true);

    writeShardsConfigs(configs);
    const out = join(tmp, "out");
    expect(readdirSync(out).sort()).toEqual(["wrangler.main.jsonc", ...plan.shards.map((s) => `wrangler.shard-${s.index}.jsonc`)].sort());
    for (const s of plan.shards) {
      const c = readJsonc(join(out, `wrangler.shard-${s.index}.jsonc`));
      expect(c.name).toBe(`edge-llama-shard-${s.index}`);
      expect(resolve(out, c.main)).toBe(join(ROOT, "src/shard/shard-entry.ts"));
      expect(existsSync(resolve(out, c.main))).toBe(true);
      expect(c.compatibility_date).toBe(raw.compatibility_date);
      expect(c.vars).toEqual({ ...vars, SHARD_PLAN: configs.fingerprint, SHARD_INDEX: String(s.index) });
      expect(c.r2_buckets).toEqual([{ binding: "MODELS", bucket_name: "edge-llama-models" }]);
      expect(c.durable_objects.bindings).toEqual([{ name: "SHARDS", class_name: "ModelShard" }]);
      expect(c.migrations).toEqual([{ tag: "v1", new_sqlite_classes: ["ModelShard"] }]);
    }
    const main = readJsonc(join(out, "wrangler.main.jsonc"));
    expect(main.name).toBe("edge-llama");
    expect(resolve(out, main.main)).toBe(join(ROOT, "src/index.ts"));
    expect(resolve(out, main.assets.directory)).toBe(join(ROOT, "public"));
    expect(main.assets.run_worker_first).toEqual((raw.assets as { run_worker_first: string[] }).run_worker_first);
    expect(main.vars).toEqual({ ...vars, SHARD_PLAN: configs.fingerprint });
    expect(main.migrations).toEqual(raw.migrations);
    // The Worker's own bindings stay (SHARDS too: the default path), one SHARDS_<i> per shard script is added.
    expect(main.durable_objects.bindings).toEqual([
      ...raw.durable_objects!.bindings!,
      ...plan.shards.map((s) => ({ name: `SHARDS_${s.index}`, class_name: "ModelShard", script_name: `edge-llama-shard-${s.index}` })),
    ]);
    expect(configArgs(configs).filter((a) => a !== "-c")).toEqual([join(out, "wrangler.main.jsonc"), ...plan.shards.map((s) => join(out, `wrangler.shard-${s.index}.jsonc`))]);
  });

  it("changes the fingerprint with the budget or the context, and removes shard configs an older plan left", async () => {
    const out = join(tmp, "stale");
    const a = await generate({ MEMORY_BUDGET_MB: "0.5", N_CTX: "128" }, out);
    const b = await generate({ MEMORY_BUDGET_MB: "0.8", N_CTX: "128" }, out);
    const c = await generate({ MEMORY_BUDGET_MB: "0.8", N_CTX: "64" }, out);
    expect(a.plan.shards.length).toBeGreaterThan(b.plan.shards.length);
    expect(new Set([a.configs.fingerprint, b.configs.fingerprint, c.configs.fingerprint]).size).toBe(3);
    writeShardsConfigs(a.configs);
    expect(readdirSync(out)).toHaveLength(a.plan.shards.length + 1);
    writeShardsConfigs(b.configs);
    expect(readdirSync(out)).toHaveLength(b.plan.shards.length + 1);
  });

  it("refuses a model that fits one isolate, a plan with a layer over the budget, a missing model and a bad var", async () => {
    await expect(generate({ MEMORY_BUDGET_MB: "128" })).rejects.toThrow(/fits one isolate at MEMORY_BUDGET_MB=128: it needs no shard scripts/);
    await expect(generate({ MEMORY_BUDGET_MB: "0.1", N_CTX: "128" })).rejects.toThrow(/layer 0 .* more than the memory budget of 0\.10 MiB per shard/);
    await expect(generate({ MEMORY_BUDGET_MB: "zero" })).rejects.toThrow(/var MEMORY_BUDGET_MB must be a positive number/);
    const raw = await readWorkerConfig(WRANGLER_TOML);
    await expect(planFor(fileBucket(MODEL, "stories260K.gguf"), mergedVars(raw, { MODEL_NAME: "other.gguf" }))).rejects.toThrow(/model "other.gguf" not found/);
    expect(() => parseVar("MEMORY_BUDGET_MB")).toThrow(/--var must be NAME:VALUE/);
    expect(parseVar("N_CTX:64")).toEqual(["N_CTX", "64"]);
    const plan = (await generate({ MEMORY_BUDGET_MB: "0.5", N_CTX: "128" })).plan;
    const noModels: RawWorkerConfig = { ...raw, r2_buckets: [] };
    expect(() => shardsConfigs({ raw: noModels, configPath: WRANGLER_TOML, outDir: tmp, vars: {}, plan })).toThrow(/binding MODELS/);
  });

  it("runs as a command: --model FILE and --var, and a usage error for an unknown flag", () => {
    const out = join(tmp, "cli");
    const tsx = join(ROOT, "node_modules/.bin/tsx");
    const args = ["scripts/shards-config.ts", "--model", MODEL, "--var", "MEMORY_BUDGET_MB:0.5", "--var=N_CTX:128", "--out", out];
    const text = execFileSync(tsx, args, { cwd: ROOT, encoding: "utf8" });
    expect(text).toMatch(/stories260K\.gguf: 7 shards at MEMORY_BUDGET_MB=0\.5/);
    expect(readdirSync(out)).toHaveLength(8);
    expect(readJsonc(join(out, "wrangler.main.jsonc")).vars.MODEL_NAME).toBe("stories260K.gguf");
    const bad = spawnSync(tsx, ["scripts/shards-config.ts", "--modle", MODEL], { cwd: ROOT, encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown option --modle/);
  });
});

describe("the Worker's shard bindings (src/shard/shard-scripts.ts)", () => {
  const ns = (name: string) => ({ name }) as unknown as DurableObjectNamespace;
  const planOf = async (): Promise<ShardPlan> => (await generate({ MEMORY_BUDGET_MB: "0.5", N_CTX: "128" })).plan;
  const perShard = (plan: ShardPlan, extra: Record<string, unknown> = {}) =>
    ({ SHARDS: ns("SHARDS"), SHARD_PLAN: planFingerprint(plan), ...Object.fromEntries(plan.shards.map((s) => [`SHARDS_${s.index}`, ns(`SHARDS_${s.index}`)])), ...extra }) as unknown as Env;

  it("uses SHARDS when no per-shard binding exists (the default config), SHARDS_<i> when they do", async () => {
    const plan = await planOf();
    const shared = { SHARDS: ns("SHARDS") } as unknown as Env;
    expect(() => checkShardScripts(shared, plan)).not.toThrow();
    expect((shardNamespace(shared, 3) as unknown as { name: string }).name).toBe("SHARDS");
    const env = perShard(plan);
    expect(() => checkShardScripts(env, plan)).not.toThrow();
    for (const s of plan.shards) expect((shardNamespace(env, s.index) as unknown as { name: string }).name).toBe(`SHARDS_${s.index}`);
  });

  it("refuses a missing binding and another plan's fingerprint with 503 shards_not_configured naming the command", async () => {
    const plan = await planOf();
    const missing = perShard(plan, { SHARDS_3: undefined });
    const error = (() => {
      try {
        checkShardScripts(missing, plan);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(HostError);
    expect((error as HostError).code).toBe("shards_not_configured");
    expect((error as HostError).message).toMatch(/shard binding SHARDS_3 missing .*npm run shards:config/);
    // Never a silent fallback into the shared namespace.
    expect(() => shardNamespace(missing, 3)).toThrow(/shard 3 has no binding SHARDS_3/);
    const stale = perShard(plan, { SHARD_PLAN: planFingerprint({ ...plan, nCtx: 256 }) });
    expect(() => checkShardScripts(stale, plan)).toThrow(/generated for another plan .*the model file or a var changed since/);
  });
});
