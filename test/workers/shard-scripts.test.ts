// A per-shard script's check (src/shard/shard-entry.ts): it serves only the plan entry its generated config names (SHARD_PLAN, SHARD_INDEX, MEMORY_BUDGET_MB).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { configFromGguf } from "../../src/engine/config";
import type { Env } from "../../src/env";
import { readGgufHeader } from "../../src/gguf/index";
import { planShards } from "../../src/shard/plan";
import { planFingerprint } from "../../src/shard/plan-fingerprint";
import { specMismatch } from "../../src/shard/shard-entry";

describe("shard script: the spec of every call against its SHARD_PLAN entry", () => {
  const bytes = new Uint8Array(env.TEST_MODEL_STORIES260K);
  const header = readGgufHeader(bytes, bytes.byteLength);
  const input = { config: configFromGguf(header), tensors: header.tensors };
  const plan = planShards(input, { budgetBytes: 0.5 * 2 ** 20, nCtx: 128 });
  const script = (vars: Record<string, string>) => vars as unknown as Env;
  const own = script({ SHARD_PLAN: planFingerprint(plan), SHARD_INDEX: "2", MEMORY_BUDGET_MB: "0.5" });

  it("accepts its own entry and refuses another shard's", () => {
    expect(plan.shards.length).toBe(7);
    expect(specMismatch(own, plan.shards[2]!)).toBeNull();
    expect(specMismatch(own, plan.shards[3]!)).toMatch(/^shard script 2 serves 2:\/1-2\/, asked for 3:\/2-3\/: the main Worker and the shard scripts come from different plans$/);
  });

  it("refuses an entry of another plan with the same index, a budget not its plan's, and a config without the vars", () => {
    // At 0.8 MiB the layers pack two to a shard: shard 1 of that plan is not shard 1 of this one.
    const other = planShards(input, { budgetBytes: 0.8 * 2 ** 20, nCtx: 128 });
    expect(other.shards.length).toBeLessThan(plan.shards.length);
    const one = script({ SHARD_PLAN: planFingerprint(plan), SHARD_INDEX: "1", MEMORY_BUDGET_MB: "0.5" });
    expect(specMismatch(one, other.shards[1]!)).toMatch(/shard script 1 serves 1:\/0-1\/, asked for 1:/);
    expect(specMismatch(script({ SHARD_PLAN: planFingerprint(plan), SHARD_INDEX: "2", MEMORY_BUDGET_MB: "0.8" }), plan.shards[2]!)).toMatch(/MEMORY_BUDGET_MB is not the budget of its SHARD_PLAN/);
    expect(specMismatch(script({ MEMORY_BUDGET_MB: "0.5" }), plan.shards[2]!)).toMatch(/without a valid SHARD_PLAN \/ SHARD_INDEX/);
    expect(specMismatch(script({ SHARD_PLAN: planFingerprint(plan), SHARD_INDEX: "9", MEMORY_BUDGET_MB: "0.5" }), plan.shards[2]!)).toMatch(/without a valid SHARD_PLAN/);
  });
});
