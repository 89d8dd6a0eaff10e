// The sharded bench's pieces: its Q4_K_M files equal model:quantize's, stages of a plan, and docs/sharding.md's block rendered from the committed reports.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { mixedModel } from "../../scripts/lib/bench-sharded-model";
import { addShardCounts, stagesOf } from "../../scripts/lib/bench-sharded-row";
import { parseShardedReport, shardCountsCell, shardedTable, type ShardedReport } from "../../scripts/lib/bench-sharded-report";
import { renderShardedDoc, SHARDED_DOC, SHARDED_REPORTS } from "../../scripts/lib/bench-sharded-cli";
import { quantizeModel } from "../../scripts/lib/quantize-model";
import { synthModel } from "../../scripts/lib/synth/model";
import { readGguf, writeGguf } from "../../src/gguf/index";

describe("bench files", () => {
  it("the tensor-by-tensor Q4_K_M mix is byte-identical to quantizing the whole F32 file", () => {
    const opts = { shape: "tiny" as const, overrides: { dim: 256, ffn: 512, layers: 3 }, type: "f32" as const, seed: 7 };
    const a = mixedModel(opts, "q4_k_m");
    const b = writeGguf(quantizeModel(readGguf(synthModel(opts)), { type: "q4_k_m" }).spec);
    expect(a.length).toBe(b.length);
    expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);
    // It is a mix: several types among the matrices.
    expect(new Set(readGguf(a).tensors.map((t) => t.type)).size).toBeGreaterThan(2);
  });
});

describe("stages of a plan", () => {
  const entry = (layers: [number, number], embed: [number, number] | null, head: [number, number] | null) => ({ index: 0, layers, embed_rows: embed, head_rows: head, total_bytes: 1, replicas: [] });
  it("parallel row slices count once, every layer shard once", () => {
    const vocab = 1000;
    const split = [entry([0, 0], [0, 512], null), entry([0, 0], [512, 1000], null), entry([0, 3], null, null), entry([3, 6], null, null), entry([0, 0], null, [0, 500]), entry([0, 0], null, [500, 1000])];
    expect(stagesOf(split, vocab)).toBe(4);
    // A whole embedding with layers, and the head with the last layers: two stages.
    expect(stagesOf([entry([0, 3], [0, vocab], null), entry([3, 6], null, [0, vocab])], vocab)).toBe(2);
  });
});

describe("docs/sharding.md", () => {
  it("its generated block is what the committed reports render", () => {
    const doc = readFileSync(SHARDED_DOC, "utf8");
    expect(renderShardedDoc(doc, SHARDED_REPORTS)).toBe(doc);
  });

  it("a report's table divides the sharded figures by the same run's single engine", () => {
    const r = JSON.parse(readFileSync(`${SHARDED_REPORTS}/2026-12-04-quick.json`, "utf8")) as ShardedReport;
    const row = r.rows[0]!;
    const line = shardedTable(parseShardedReport(JSON.stringify(r), "quick"))[2]!;
    expect(line).toContain(`${(row.sharded.decode_tokens_per_s / row.node.decode_tokens_per_s).toFixed(2)}×`);
    expect(line).toContain(`${(row.two_sessions_decode_tokens_per_s / row.one_session_decode_tokens_per_s).toFixed(2)}×`);
    const bad = { ...r, rows: [{ ...row, sharded: { ...row.sharded, decode_tokens_per_s: 0 } }] };
    expect(() => parseShardedReport(JSON.stringify(bad), "bad.json")).toThrow(/bad.json.*rows\[0\]\.sharded\.decode_tokens_per_s/);
    expect(() => parseShardedReport(JSON.stringify({ ...r, format: "x" }), "x.json")).toThrow(/x.json: not a sharded bench report/);
  });

  it("catch-ups and shard loads: summed over the run's requests, shown in the last column; '–' in reports made before they were counted", () => {
    const r = JSON.parse(readFileSync(`${SHARDED_REPORTS}/2026-12-04-quick.json`, "utf8")) as ShardedReport;
    const row = r.rows[0]!;
    expect(row.shard_counts).toBeUndefined();
    const last = (x: ShardedReport) => shardedTable(x)[2]!.split(" | ").at(-1)!.replace(/ \|$/, "");
    expect(last(r)).toBe("–");
    const gen = (catch_ups: number, replayed_tokens: number, loads: number, load_ms: number) => ({ tokens: [], timings: { prefill_ms: 1, decode_ms: 1 }, shards: { catch_ups, replayed_tokens, loads, load_ms } });
    const counts = addShardCounts({ catch_ups: 0, replayed_tokens: 0, loads: 0, load_ms: 0 }, gen(1, 2, 0, 0), { tokens: [], timings: { prefill_ms: 1, decode_ms: 1 } }, gen(1, 4, 3, 24_100));
    expect(counts).toEqual({ catch_ups: 2, replayed_tokens: 6, loads: 3, load_ms: 24_100 });
    expect(last({ ...r, rows: [{ ...row, shard_counts: counts }] })).toBe("2 (6) / 3 (24.1)");
    expect(shardCountsCell({ catch_ups: 0, replayed_tokens: 0, loads: 0, load_ms: 0 })).toBe("0 / 0");
    expect(shardedTable(r)[0]).toMatch(/\| catch-ups \(positions\) \/ shard loads \(s\) \|$/);
  });
});
