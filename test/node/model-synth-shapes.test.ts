// model:synth as a library: the presets of real models, shape overrides (API and CLI) and the weight-type table.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { GgmlType, ggmlTypeName, metaOptNumber, metaOptString, readGguf } from "../../src/gguf/index";
import { QUANTIZE_TYPES, dequantizableTypes } from "../../src/quant/index";
import { createBackend } from "../../src/backends/select";
import { LlamaModel } from "../../src/engine/model";
import { LlamaContext } from "../../src/engine/context";
import { LLAMA_FTYPE, SYNTH_SHAPES, SYNTH_TYPES, matrixType, resolveShape, synthMetadata, synthModel, synthShapeOf, synthTensorSpecs } from "../../scripts/lib/synth/model";

const metaOf = (opts: Parameters<typeof synthMetadata>[0]) => new Map(synthMetadata(opts).map(([k, v]) => [k, v.value]));
const specOf = (specs: ReturnType<typeof synthTensorSpecs>, name: string) => specs.find((s) => s.name === name)!;

describe("presets of real models (shapes only, metadata and tensor table without generating weights)", () => {
  it.each([
    // name, dim, ffn, layers, heads, kv heads, vocab, context, rope base, rms eps
    ["smollm2-360m", 960, 2560, 32, 15, 5, 49152, 2048, 100000, 1e-5],
    ["llama-3.2-1b", 2048, 8192, 16, 32, 8, 128256, 131072, 500000, 1e-5],
    ["qwen2.5-0.5b", 896, 4864, 24, 14, 2, 151936, 32768, 1000000, 1e-6],
  ] as const)("%s", (name, dim, ffn, layers, heads, kv, vocab, ctx, rope, eps) => {
    const meta = metaOf({ shape: name, type: "q8_0", seed: 1 });
    expect(meta.get("general.architecture")).toBe("llama");
    expect(meta.get("llama.embedding_length")).toBe(dim);
    expect(meta.get("llama.feed_forward_length")).toBe(ffn);
    expect(meta.get("llama.block_count")).toBe(layers);
    expect(meta.get("llama.attention.head_count")).toBe(heads);
    expect(meta.get("llama.attention.head_count_kv")).toBe(kv);
    expect(meta.get("llama.vocab_size")).toBe(vocab);
    expect(meta.get("llama.context_length")).toBe(ctx); // the real value, 131072 for Llama 3.2
    expect(meta.get("llama.rope.freq_base")).toBe(rope);
    expect(meta.get("llama.rope.dimension_count")).toBe(64);
    expect(meta.get("llama.attention.layer_norm_rms_epsilon")).toBe(Math.fround(eps));
    expect(meta.get("general.file_type")).toBe(7);
    const specs = synthTensorSpecs(name, "q8_0");
    expect(specs.length).toBe(1 + 9 * layers + 1); // tied: no output.weight
    expect(specs.some((s) => s.name === "output.weight")).toBe(false);
    expect(specOf(specs, "token_embd.weight").dims).toEqual([dim, vocab]);
    expect(specOf(specs, `blk.${layers - 1}.attn_k.weight`).dims).toEqual([dim, 64 * kv]);
    expect(specOf(specs, "blk.0.ffn_down.weight").dims).toEqual([ffn, dim]);
    expect(specs.filter((s) => s.dims.length === 2).every((s) => s.type === GgmlType.Q8_0)).toBe(true);
  });
});

describe("overrides", () => {
  it("replace fields, rename the shape, and are checked", () => {
    const s = resolveShape("tiny", { layers: 3, ffn: 96 });
    expect(s).toMatchObject({ ...SYNTH_SHAPES.tiny, name: "tiny-custom", layers: 3, ffn: 96 });
    expect(resolveShape("tiny", { layers: 3, name: "mine" }).name).toBe("mine");
    expect(resolveShape("tiny", { layers: 2 })).toEqual(SYNTH_SHAPES.tiny); // same value: not custom
    expect(() => resolveShape("tiny", { heads: 3 })).toThrow(/even head size/);
    expect(() => resolveShape("tiny", { layers: 0 })).toThrow(/layers must be a positive integer/);
    expect(() => resolveShape("tiny", { context: 2 ** 32 })).toThrow(/context must be a positive integer/);
    expect(() => resolveShape("nope" as "tiny")).toThrow(/unknown shape "nope"/);
  });

  it("a custom shape is written as asked and runs in the engine", () => {
    const opts = { shape: "tiny", overrides: { dim: 96, heads: 6, kvHeads: 3, layers: 1, ffn: 160, vocab: 300, tied: true, rmsEps: 1e-6 }, type: "q8_0", seed: 2 } as const;
    const bytes = synthModel(opts);
    expect(synthModel(opts)).toEqual(bytes);
    const f = readGguf(bytes);
    expect(metaOptString(f, "general.name")).toBe("synthetic-tiny-custom-q8_0-seed2");
    expect(metaOptNumber(f, "llama.attention.layer_norm_rms_epsilon")).toBe(Math.fround(1e-6));
    expect(f.tensorByName.get("token_embd.weight")!.dims).toEqual([96, 300]);
    expect(f.tensorByName.get("blk.0.attn_v.weight")!.dims).toEqual([96, 48]);
    expect(f.tensorByName.has("blk.1.attn_norm.weight")).toBe(false);
    expect(f.tensorByName.has("output.weight")).toBe(false);
    expect(synthShapeOf(opts)).toMatchObject({ dim: 96, vocab: 300, tied: true });
    const model = LlamaModel.load(bytes, createBackend("ref"));
    expect(model.config).toMatchObject({ dim: 96, nHeads: 6, nKvHeads: 3, ffnDim: 160, vocabSize: 300, tiedOutput: true });
    const ctx = new LlamaContext(model, { nCtx: 8 });
    ctx.append([1, 42, 7]);
    expect(ctx.nextLogits().every(Number.isFinite)).toBe(true);
  });
});

describe("weight types", () => {
  it("are every type src/quant both quantizes and dequantizes, named as ggml names them", () => {
    const expected = QUANTIZE_TYPES.filter((t) => dequantizableTypes().includes(t)).map((t) => ggmlTypeName(t).toLowerCase());
    expect(Object.keys(SYNTH_TYPES)).toEqual(expected);
    for (const t of ["f32", "f16", "bf16", "q8_0", "q4_0"]) expect(SYNTH_TYPES).toHaveProperty(t);
  });

  it("general.file_type is llama.cpp's llama_ftype", () => {
    // From llama.h: ALL_F32 0, MOSTLY_F16 1, Q4_0 2, Q4_1 3, Q8_0 7, Q5_0 8, Q5_1 9, Q2_K 10, Q3_K_M 12, Q4_K_M 15, Q5_K_M 17, Q6_K 18, BF16 32.
    const want: [GgmlType, number][] = [
      [GgmlType.F32, 0], [GgmlType.F16, 1], [GgmlType.Q4_0, 2], [GgmlType.Q4_1, 3], [GgmlType.Q8_0, 7], [GgmlType.Q5_0, 8],
      [GgmlType.Q5_1, 9], [GgmlType.Q2_K, 10], [GgmlType.Q3_K, 12], [GgmlType.Q4_K, 15], [GgmlType.Q5_K, 17], [GgmlType.Q6_K, 18], [GgmlType.BF16, 32],
    ];
    for (const [type, ftype] of want) expect(LLAMA_FTYPE.get(type), ggmlTypeName(type)).toBe(ftype);
    for (const info of Object.values(SYNTH_TYPES)) expect(info.fileType).toBe(LLAMA_FTYPE.get(info.ggml));
  });

  it("rows that do not fill whole blocks fall back as llama.cpp's quantizer does", () => {
    expect(matrixType(GgmlType.Q8_0, 64)).toBe(GgmlType.Q8_0);
    expect(matrixType(GgmlType.Q4_0, 48)).toBe(GgmlType.F16);
    expect(matrixType(GgmlType.BF16, 7)).toBe(GgmlType.BF16);
    // K-quants (256-blocks) take llama.cpp's fallback type when src/quant can write it, else F16.
    expect(matrixType(GgmlType.Q4_K, 256)).toBe(GgmlType.Q4_K);
    expect(matrixType(GgmlType.Q6_K, 96)).toBe(GgmlType.Q8_0);
    expect(matrixType(GgmlType.Q6_K, 48)).toBe(GgmlType.F16);
    expect(matrixType(GgmlType.Q4_K, 96)).toBe(QUANTIZE_TYPES.includes(GgmlType.Q5_0) ? GgmlType.Q5_0 : GgmlType.F16);
  });

  it("bf16 writes file_type 32 and, like f16, no quantization_version", () => {
    const f = readGguf(synthModel({ shape: "tiny", type: "bf16", seed: 1 }));
    expect(metaOptNumber(f, "general.file_type")).toBe(32);
    expect(metaOptNumber(f, "general.quantization_version")).toBeUndefined(); // as f16: not block-quantized
    expect(f.tensorByName.get("blk.0.ffn_up.weight")!.type).toBe(GgmlType.BF16);
  });
});

describe("model:synth CLI overrides", () => {
  const run = promisify(execFile);
  const dir = mkdtempSync(join(tmpdir(), "model-synth-shapes-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (args: string[]) => run("node_modules/.bin/tsx", ["scripts/model-synth.ts", ...args]);

  it("--dim/--layers/... write the same bytes as the library's overrides", async () => {
    const out = join(dir, "custom.gguf");
    const args = ["--shape", "tiny", "--type", "q4_0", "--seed", "4", "--dim", "128", "--heads", "8", "--kv-heads", "2", "--layers", "1"];
    const { stdout } = await cli([...args, "--ffn", "256", "--vocab", "400", "--context", "64", "--rope-base", "50000", "--rms-eps", "1e-6", "--tied", "--out", out]);
    expect(stdout).toMatch(/: tiny-custom q4_0 seed 4/);
    const overrides = { dim: 128, heads: 8, kvHeads: 2, layers: 1, ffn: 256, vocab: 400, context: 64, ropeBase: 50000, rmsEps: 1e-6, tied: true };
    expect(new Uint8Array(readFileSync(out))).toEqual(synthModel({ shape: "tiny", type: "q4_0", seed: 4, overrides }));
  });

  it.each([
    [["--shape", "tiny", "--layers", "1.5", "--out", "x"], /--layers must be a positive integer/],
    [["--shape", "tiny", "--tied", "--untied", "--out", "x"], /contradict/],
    [["--shape", "tiny", "--heads", "5", "--out", "x"], /even head size/],
  ])("bad overrides %j exit 1", async (args, message) => {
    const err = (await cli(args).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(message);
  });
});
