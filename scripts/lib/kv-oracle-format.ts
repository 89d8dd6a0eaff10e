// What scripts/kv-oracle.ts writes and test/node/kv-types-oracle.test.ts reads: the run layout and the synthetic model's options.

/** One run of the oracle file (test/fixtures/models/oracle/kv-types.json). */
export interface KvOracleRun {
  model: "stories260K.gguf" | "tiny-hd32";
  kvType: "f32" | "f16" | "q8_0";
  flashAttention: boolean;
  promptIds: number[];
  generatedIds: number[];
  logits: number[][];
}

/** The synthetic model's options: a tiny llama whose heads are whole Q8_0 blocks. */
export const TINY_HD32 = { shape: "tiny", overrides: { heads: 2, kvHeads: 1 }, type: "f32", seed: 7 } as const;
