// model:synth: deterministic random-weight llama GGUFs, their metadata, tensor table, sizes, vocabulary and CLI.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { metaArray, metaOptNumber, metaOptString, readGguf, tensorData, type GgufFile } from "../../src/gguf/index";
import { GgmlType } from "../../src/gguf/ggml-types";
import { GgufValueType, type GgufArray, type GgufValue } from "../../src/gguf/types";
import { dequantize } from "../../src/quant/index";
import { createBackend } from "../../src/backends/select";
import { LlamaModel } from "../../src/engine/model";
import { LlamaContext } from "../../src/engine/context";
import { SYNTH_SHAPES, synthMetadata, synthModel, synthTensorSpecs, type SynthShape, type SynthTypeName } from "../../scripts/lib/synth/model";
import { MIN_VOCAB, SPACE, TOKEN_TYPE, synthVocab } from "../../scripts/lib/synth/vocab";

const TYPES: SynthTypeName[] = ["f32", "f16", "bf16", "q8_0", "q4_0"];
const GGML: Record<SynthTypeName, GgmlType> = { f32: GgmlType.F32, f16: GgmlType.F16, bf16: GgmlType.BF16, q8_0: GgmlType.Q8_0, q4_0: GgmlType.Q4_0 };
/** llama.cpp's llama_ftype values (LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16, MOSTLY_Q8_0, MOSTLY_Q4_0). */
const FILE_TYPE: Record<SynthTypeName, number> = { f32: 0, f16: 1, bf16: 32, q8_0: 7, q4_0: 2 };
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const num = (f: GgufFile, k: string) => metaOptNumber(f, k);

/** Bytes per element run of each type (independent of the writer's tables). */
function dataBytes(type: GgmlType, n: number): number {
  if (type === GgmlType.F32) return 4 * n;
  if (type === GgmlType.F16 || type === GgmlType.BF16) return 2 * n;
  if (type === GgmlType.Q8_0) return (n / 32) * 34;
  if (type === GgmlType.Q4_0) return (n / 32) * 18;
  throw new Error(`type ${type}`);
}

/** Size of one encoded GGUF v3 metadata value, from the spec (u64 string lengths, u32 type tags). */
function valueBytes(v: GgufValue): number {
  switch (v.type) {
    case GgufValueType.STRING:
      return 8 + Buffer.byteLength(v.value, "utf8");
    case GgufValueType.ARRAY: {
      const { elementType, items } = v.value;
      const each = items.map((value) => valueBytes({ type: elementType, value } as GgufValue));
      return 4 + 8 + each.reduce((a, b) => a + b, 0);
    }
    case GgufValueType.UINT8: case GgufValueType.INT8: case GgufValueType.BOOL:
      return 1;
    case GgufValueType.UINT16: case GgufValueType.INT16:
      return 2;
    case GgufValueType.UINT32: case GgufValueType.INT32: case GgufValueType.FLOAT32:
      return 4;
    default:
      return 8;
  }
}

/** Expected file size: header, KVs and tensor infos padded to 32, then each tensor padded to 32. */
function expectedFileSize(metadata: [string, GgufValue][], tensors: { name: string; dims: readonly number[]; type: GgmlType }[]): number {
  const pad = (n: number) => Math.ceil(n / 32) * 32;
  let head = 4 + 4 + 8 + 8;
  for (const [k, v] of metadata) head += 8 + k.length + 4 + valueBytes(v);
  for (const t of tensors) head += 8 + t.name.length + 4 + 8 * t.dims.length + 4 + 8;
  const data = tensors.map((t) => pad(dataBytes(t.type, t.dims.reduce((a, b) => a * b, 1))));
  return pad(head) + data.reduce((a, b) => a + b, 0);
}

const tinyFiles = new Map<SynthTypeName, Uint8Array>(TYPES.map((t) => [t, synthModel({ shape: "tiny", type: t, seed: 1 })]));

describe("synth vocabulary", () => {
  it.each([320, 32000, 49152])("%i pieces: unique, specials, byte tokens, decreasing scores", (size) => {
    const v = synthVocab(size);
    expect(v.tokens.length).toBe(size);
    expect(v.scores.length).toBe(size);
    expect(v.types.length).toBe(size);
    expect(new Set(v.tokens).size).toBe(size);
    expect(v.tokens.slice(0, 3)).toEqual(["<unk>", "<s>", "</s>"]);
    expect(v.types.slice(0, 3)).toEqual([TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL]);
    for (let b = 0; b < 256; b++) {
      expect(v.tokens[3 + b]).toBe(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
      expect(v.types[3 + b]).toBe(TOKEN_TYPE.BYTE);
    }
    const normal = v.tokens.slice(MIN_VOCAB);
    expect(v.types.slice(MIN_VOCAB).every((t) => t === TOKEN_TYPE.NORMAL)).toBe(true);
    expect(normal.every((p) => p.length > 0 && !p.startsWith("<"))).toBe(true);
    const s = v.scores.slice(MIN_VOCAB);
    expect(s[0]).toBe(-1);
    expect(s.every((x, i) => i === 0 || x < s[i - 1]!)).toBe(true);
    expect(s.every((x) => Math.fround(x) === x)).toBe(true);
    // Prefix-closed: every "▁word" piece can be reached by merging its prefix with one more character.
    const set = new Set(v.tokens);
    for (const p of normal) if (p.startsWith(SPACE) && p.length > 2) expect(set.has(p.slice(0, -1))).toBe(true);
  });

  it("is the same every time and a prefix of any larger vocabulary", () => {
    expect(synthVocab(320)).toEqual(synthVocab(320));
    expect(synthVocab(32000).tokens.slice(0, 320)).toEqual(synthVocab(320).tokens);
    expect(synthVocab(32000).tokens).toContain(`${SPACE}the`);
    expect(() => synthVocab(258)).toThrow(/>= 259/);
  });
});

describe("synthModel", () => {
  it("is deterministic: same seed gives identical bytes, another seed differs", () => {
    for (const t of TYPES) expect(sha(synthModel({ shape: "tiny", type: t, seed: 1 }))).toBe(sha(tinyFiles.get(t)!));
    const other = synthModel({ shape: "tiny", type: "q8_0", seed: 2 });
    expect(other.length).toBe(tinyFiles.get("q8_0")!.length);
    expect(sha(other)).not.toBe(sha(tinyFiles.get("q8_0")!));
  });

  it("pins whole files: the bytes of the original presets and types never change", () => {
    // Tests, benchmarks and e2e fixtures were made with these; a change here must be deliberate.
    const pinned: Record<string, string> = {
      f32: "e952435ca28f703740982adbe76e54a3a3f2168f562ee9aee018db91047cc8dd",
      f16: "0b0ca66d8b7ce618da17ea36fca8f4523317954d186acbdd1fc3bc897ed60fc1",
      q8_0: "0920eabcaff5adb120018da6db3eb8385e640ad952f7b963f0047b9eaff50ff6",
      q4_0: "d63bf2dcc3292e6679d4e25f90b9ead2871ce9fee4e7d4dc5fabfe51decd97e9",
    };
    for (const [t, hash] of Object.entries(pinned)) expect(sha(tinyFiles.get(t)!), t).toBe(hash);
    const odd: SynthShape = { ...SYNTH_SHAPES.tiny, name: "odd", ffn: 48 };
    expect(sha(synthModel({ shape: odd, type: "q4_0", seed: 3 }))).toBe("15b512fc33b84b0455cf23bd8729b96f977b8b1394588625c50e1e62b1e1705f");
  });

  it("pins the generator: tiny f32 seed 1 token_embd", () => {
    const f = readGguf(tinyFiles.get("f32")!);
    const data = tensorData(f, f.tensorByName.get("token_embd.weight")!);
    expect(sha(data).slice(0, 16)).toMatchInlineSnapshot(`"210e2e5e0e265cbb"`);
  });

  it.each(TYPES)("tiny %s parses with the right metadata, shapes and types", (t) => {
    const bytes = tinyFiles.get(t)!;
    const f = readGguf(bytes);
    expect(metaOptString(f, "general.architecture")).toBe("llama");
    expect(metaOptString(f, "general.name")).toBe(`synthetic-tiny-${t}-seed1`);
    expect(num(f, "general.file_type")).toBe(FILE_TYPE[t]);
    expect(num(f, "general.quantization_version")).toBe(t.startsWith("q") ? 2 : undefined);
    expect(num(f, "llama.context_length")).toBe(128);
    expect(num(f, "llama.embedding_length")).toBe(64);
    expect(num(f, "llama.block_count")).toBe(2);
    expect(num(f, "llama.feed_forward_length")).toBe(128);
    expect(num(f, "llama.attention.head_count")).toBe(4);
    expect(num(f, "llama.attention.head_count_kv")).toBe(2);
    expect(num(f, "llama.rope.dimension_count")).toBe(16);
    expect(num(f, "llama.rope.freq_base")).toBe(10000);
    expect(num(f, "llama.attention.layer_norm_rms_epsilon")).toBe(Math.fround(1e-5));
    expect(metaOptString(f, "tokenizer.ggml.model")).toBe("llama");
    expect(metaArray(f, "tokenizer.ggml.tokens").items).toEqual(synthVocab(320).tokens);
    expect(metaArray(f, "tokenizer.ggml.token_type").elementType).toBe(GgufValueType.INT32);
    expect(metaArray(f, "tokenizer.ggml.scores").elementType).toBe(GgufValueType.FLOAT32);
    expect([num(f, "tokenizer.ggml.bos_token_id"), num(f, "tokenizer.ggml.eos_token_id"), num(f, "tokenizer.ggml.unknown_token_id")]).toEqual([1, 2, 0]);

    const specs = synthTensorSpecs("tiny", t);
    expect(f.tensorByName.size).toBe(1 + 2 * 9 + 2);
    expect(specs.length).toBe(21);
    for (const s of specs) {
      const info = f.tensorByName.get(s.name)!;
      expect(info, s.name).toBeDefined();
      expect(info.dims).toEqual(s.dims);
      expect(info.type).toBe(s.dims.length === 1 ? GgmlType.F32 : GGML[t]);
    }
    const ne = (n: string) => f.tensorByName.get(n)!.dims;
    expect(ne("token_embd.weight")).toEqual([64, 320]);
    expect(ne("output.weight")).toEqual([64, 320]);
    expect(ne("output_norm.weight")).toEqual([64]);
    expect(ne("blk.1.attn_k.weight")).toEqual([64, 32]);
    expect(ne("blk.1.ffn_down.weight")).toEqual([128, 64]);
    expect(bytes.length).toBe(expectedFileSize(synthMetadata({ shape: "tiny", type: t, seed: 1 }), specs));
  });

  it("weights look like normal(0, 0.02) and norms are 1", () => {
    const f = readGguf(tinyFiles.get("f32")!);
    const info = f.tensorByName.get("blk.0.ffn_up.weight")!;
    const w = dequantize(info.type, tensorData(f, info), 64 * 128);
    const mean = w.reduce((a, b) => a + b, 0) / w.length;
    const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
    expect(new Set(w).size).toBeGreaterThan(w.length * 0.9);
    const norm = f.tensorByName.get("blk.1.ffn_norm.weight")!;
    expect([...dequantize(norm.type, tensorData(f, norm), 64)].every((x) => x === 1)).toBe(true);
  });

  it.each(TYPES)("tiny %s loads in the engine and gives finite logits", (t) => {
    const model = LlamaModel.load(tinyFiles.get(t)!, createBackend("ref"));
    expect(model.config.vocabSize).toBe(320);
    const ids = model.tokenizer.encode("a cat!", { addBos: false });
    expect(model.tokenizer.decode(ids)).toBe("a cat!");
    expect(ids.length).toBeLessThan(6); // merged pieces, not only bytes
    const ctx = new LlamaContext(model, { nCtx: 32 });
    ctx.append([1, ...ids]);
    const logits = ctx.nextLogits();
    expect(logits.length).toBe(320);
    expect(logits.every(Number.isFinite)).toBe(true);
  });

  it("rows that do not split into 32-value blocks fall back to F16", () => {
    const odd: SynthShape = { ...SYNTH_SHAPES.tiny, name: "odd", ffn: 48 };
    for (const t of ["q8_0", "q4_0"] as const) {
      const f = readGguf(synthModel({ shape: odd, type: t, seed: 3 }));
      expect(f.tensorByName.get("blk.0.ffn_down.weight")!.type).toBe(GgmlType.F16);
      expect(f.tensorByName.get("blk.0.ffn_up.weight")!.type).toBe(GGML[t]);
    }
  });

  it("a tied shape has no output.weight and still runs", () => {
    const tied: SynthShape = { ...SYNTH_SHAPES.tiny, name: "tied", tied: true, ropeBase: 100000, heads: 4, kvHeads: 1 };
    const bytes = synthModel({ shape: tied, type: "q4_0", seed: 5 });
    const f = readGguf(bytes);
    expect(f.tensorByName.has("output.weight")).toBe(false);
    expect(f.tensorByName.size).toBe(20);
    expect(num(f, "llama.rope.freq_base")).toBe(100000);
    const model = LlamaModel.load(bytes, createBackend("ref"));
    expect(model.config.tiedOutput).toBe(true);
    const ctx = new LlamaContext(model, { nCtx: 16 });
    ctx.append([1, 300]);
    expect(ctx.nextLogits().every(Number.isFinite)).toBe(true);
  });

  it("smollm2-135m q4_0: tied, GQA 9/3, rope base 100000, 49152-piece vocab", () => {
    const opts = { shape: "smollm2-135m", type: "q4_0", seed: 1 } as const;
    const bytes = synthModel(opts);
    const specs = synthTensorSpecs("smollm2-135m", "q4_0");
    expect(bytes.length).toBe(expectedFileSize(synthMetadata(opts), specs));
    const f = readGguf(bytes);
    expect(f.tensorByName.has("output.weight")).toBe(false);
    expect(f.tensorByName.get("token_embd.weight")!.dims).toEqual([576, 49152]);
    expect(num(f, "llama.rope.freq_base")).toBe(100000);
    expect(num(f, "llama.attention.head_count_kv")).toBe(3);
    expect(specs.length).toBe(1 + 30 * 9 + 1);
    expect(specs.some((s) => s.name === "output.weight")).toBe(false);
    expect(specs.find((s) => s.name === "blk.29.attn_v.weight")!.dims).toEqual([576, 192]);
    expect(specs.find((s) => s.name === "blk.0.ffn_down.weight")!.dims).toEqual([1536, 576]);
    expect(specs.filter((s) => s.dims.length === 2).every((s) => s.type === GgmlType.Q4_0)).toBe(true);
    const meta = new Map(synthMetadata({ shape: "smollm2-135m", type: "q4_0", seed: 1 }));
    expect(meta.get("llama.rope.freq_base")).toEqual({ type: GgufValueType.FLOAT32, value: 100000 });
    expect(meta.get("llama.attention.head_count_kv")!.value).toBe(3);
    expect(meta.get("llama.rope.dimension_count")!.value).toBe(64);
    expect((meta.get("tokenizer.ggml.tokens")!.value as GgufArray).items.length).toBe(49152);
  });

  it("stories15M q8_0 has the size block math predicts", () => {
    const opts = { shape: "stories15M", type: "q8_0", seed: 1 } as const;
    const bytes = synthModel(opts);
    // The e2e fault tests and the benchmark use exactly this file.
    expect(sha(bytes)).toBe("e76d213d3d4a4be73a731f4486ed7357a16670fe24973f19dd66d26bf8b67cc3");
    const specs = synthTensorSpecs("stories15M", "q8_0");
    const perLayer = ((4 * 288 * 288 + 3 * 288 * 768) / 32) * 34 + 2 * 288 * 4;
    const data = 6 * perLayer + 2 * ((288 * 32000) / 32) * 34 + 288 * 4;
    expect(data).toBe(25_944_192);
    expect(bytes.length).toBe(expectedFileSize(synthMetadata(opts), specs));
    const f = readGguf(bytes);
    expect(f.tensorByName.size).toBe(1 + 6 * 9 + 2);
    expect(f.tensorByName.get("output.weight")!.dims).toEqual([288, 32000]);
    expect(num(f, "llama.rope.freq_base")).toBe(10000);
    expect(bytes.length - data).toBeLessThan(1_000_000); // the rest is header and vocabulary
  });
});

describe("model:synth CLI", () => {
  const run = promisify(execFile);
  const dir = mkdtempSync(join(tmpdir(), "model-synth-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("writes the same bytes as synthModel", async () => {
    const out = join(dir, "tiny.gguf");
    const { stdout } = await run("node_modules/.bin/tsx", ["scripts/model-synth.ts", "--shape", "tiny", "--type", "q4_0", "--seed", "1", "--out", out]);
    expect(stdout).toMatch(/wrote .*tiny\.gguf: tiny q4_0 seed 1/);
    expect(sha(readFileSync(out))).toBe(sha(tinyFiles.get("q4_0")!));
  });

  it.each([
    [["--shape", "huge", "--out", "x"], /unknown shape "huge"; known: stories15M, smollm2-135m, smollm2-360m, llama-3.2-1b, qwen2.5-0.5b, tiny/],
    [["--shape", "tiny", "--type", "q9_z", "--out", "x"], /unknown type "q9_z"; known: f32, f16, bf16, /],
    [["--shape", "tiny", "--seed", "-1", "--out", "x"], /--seed must be a non-negative integer/],
    [["--shape", "tiny"], /--out is required/],
  ])("bad usage %j exits 1", async (args, message) => {
    const err = (await run("node_modules/.bin/tsx", ["scripts/model-synth.ts", ...(args as string[])]).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(message);
  });
});
