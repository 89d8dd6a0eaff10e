// Whole-model quantization: our files equal llama.cpp's llama_model_quantize output, tensor by tensor and byte for byte.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { GgmlType, GgufValueType, ggmlTypeName, readGguf, tensorData, writeGguf, type GgufFile } from "../../src/gguf/index";
import { dequantize, quantizeF16, quantizeQ8_0 } from "../../src/quant/index";
import { compareTensorNames, quantizeModel, targetTensorType } from "../../scripts/lib/quantize-model";
import { fixturePath, optionalFixtures, readFixture as readModelFile } from "../helpers/fixtures";

const load = (name: string): GgufFile => readGguf(readModelFile(name));
const bytesEqual = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

/** Every tensor of `ours` has the type and bytes of the same-named tensor in `theirs` (and the sets match). */
function expectSameTensors(ours: GgufFile, theirs: GgufFile, except: readonly string[] = []): void {
  expect(ours.tensors.map((t) => t.name).sort()).toEqual(theirs.tensors.map((t) => t.name).sort());
  for (const t of ours.tensors) {
    if (except.includes(t.name)) continue;
    const ref = theirs.tensorByName.get(t.name)!;
    expect([t.name, ggmlTypeName(t.type), t.dims]).toEqual([t.name, ggmlTypeName(ref.type), ref.dims]);
    expect(bytesEqual(tensorData(ours, t), tensorData(theirs, ref)), `${t.name} bytes`).toBe(true);
  }
}

describe("quantizeModel vs llama.cpp", () => {
  const stories = load("stories260K.gguf");
  // The kquant-gqa oracle set is a larger fixture set: its tests run where the model directory has it.
  const kqSet = optionalFixtures(["F32", "Q8_0", "Q4_0", "Q6_K", "Q4_K_M", "Q5_K_M"].map((t) => `oracle/kquant-gqa-${t}.gguf`));
  const itKq = it.skipIf(!kqSet.available);
  const kq = kqSet.available ? load("oracle/kquant-gqa-F32.gguf") : (undefined as unknown as GgufFile);

  it.each([
    ["q8_0", "stories260K-Q8_0.gguf", { Q8_0: 32, F16: 5, F32: 11 }],
    ["q4_0", "stories260K-Q4_0.gguf", { Q4_0: 31, Q8_0: 1, F16: 5, F32: 11 }],
  ] as const)("stories260K to %s: every tensor as in %s, and the whole file byte-identical", (type, refName, counts) => {
    const { spec, counts: got } = quantizeModel(stories, { type });
    expect(Object.fromEntries(got)).toEqual(counts);
    const bytes = writeGguf(spec);
    const ref = readModelFile(refName);
    expectSameTensors(readGguf(bytes), readGguf(ref));
    // Same metadata order, same tensor order (llama.cpp's), same layout: the files are identical.
    expect(bytes.length).toBe(ref.length);
    expect(bytesEqual(bytes, ref)).toBe(true);
  });

  itKq("kquant-gqa to q8_0 is byte-identical to oracle/kquant-gqa-Q8_0.gguf", () => {
    expect(bytesEqual(writeGguf(quantizeModel(kq, { type: "q8_0" }).spec), readModelFile("oracle/kquant-gqa-Q8_0.gguf"))).toBe(true);
  });

  itKq("kquant-gqa to q4_0 --pure is byte-identical to the pure oracle/kquant-gqa-Q4_0.gguf", () => {
    expect(bytesEqual(writeGguf(quantizeModel(kq, { type: "q4_0", pure: true }).spec), readModelFile("oracle/kquant-gqa-Q4_0.gguf"))).toBe(true);
  });

  itKq("kquant-gqa to q4_0 (default mixture): output.weight is Q6_K (the Q6_K file's bytes), the rest as the pure Q4_0 file", () => {
    const ours = readGguf(writeGguf(quantizeModel(kq, { type: "q4_0" }).spec));
    expectSameTensors(ours, load("oracle/kquant-gqa-Q4_0.gguf"), ["output.weight"]);
    const q6 = load("oracle/kquant-gqa-Q6_K.gguf");
    expect(ours.tensorByName.get("output.weight")!.type).toBe(GgmlType.Q6_K);
    expect(bytesEqual(tensorData(ours, "output.weight"), tensorData(q6, "output.weight"))).toBe(true);
  });

  itKq.each(["Q4_K_M", "Q5_K_M"] as const)("kquant-gqa to %s is byte-identical to llama.cpp's oracle/kquant-gqa-%s.gguf", (mix) => {
    const ours = writeGguf(quantizeModel(kq, { type: mix.toLowerCase() as "q4_k_m" }).spec);
    expect(bytesEqual(ours, readModelFile(`oracle/kquant-gqa-${mix}.gguf`))).toBe(true);
  });

  itKq("writes general.quantization_version = 2 and general.file_type (u32), replacing an existing file_type at the end", () => {
    for (const [type, ft] of [["q8_0", 7], ["q4_0", 2]] as const) {
      const out = readGguf(writeGguf(quantizeModel(kq, { type }).spec));
      const keys = [...out.metadata.keys()];
      expect(keys.slice(-2)).toEqual(["general.quantization_version", "general.file_type"]);
      expect(keys.filter((k) => k === "general.file_type")).toHaveLength(1); // the master's file_type = 0 is replaced
      expect(out.metadata.get("general.quantization_version")).toEqual({ type: GgufValueType.UINT32, value: 2 });
      expect(out.metadata.get("general.file_type")).toEqual({ type: GgufValueType.UINT32, value: ft });
    }
  });

  it("accepts an F16 model: matrices requantized from the f16 values, F16 fallbacks kept bit for bit", () => {
    const f16 = readGguf(
      writeGguf({
        metadata: stories.metadata,
        tensors: stories.tensors.map((t) => {
          const x = dequantize(t.type, tensorData(stories, t), t.nElements);
          return t.dims.length > 1 ? { name: t.name, dims: t.dims, type: GgmlType.F16, data: quantizeF16(x) } : { name: t.name, dims: t.dims, type: t.type, data: tensorData(stories, t) };
        }),
      }),
    );
    const out = readGguf(writeGguf(quantizeModel(f16, { type: "q8_0" }).spec));
    const down = "blk.0.ffn_down.weight";
    expect(bytesEqual(tensorData(out, down), tensorData(f16, down))).toBe(true);
    const q = "blk.3.attn_q.weight";
    const x = dequantize(GgmlType.F16, tensorData(f16, q), 64 * 64);
    expect(bytesEqual(tensorData(out, q), quantizeQ8_0(x))).toBe(true);
  });

  it("refuses an already-quantized model and an unknown type", () => {
    expect(() => quantizeModel(load("stories260K-Q4_0.gguf"), { type: "q8_0" })).toThrow(/output\.weight is already Q8_0: only F32\/F16\/BF16 models/);
    expect(() => quantizeModel(stories, { type: "q5_k" as "q8_0" })).toThrow(/unknown quantization type "q5_k"/);
  });
});

describe("tensor plan", () => {
  it("orders tensors as llama.cpp: non-layer tensors, then by layer number, then by name", () => {
    const names = ["blk.10.attn_q.weight", "token_embd.weight", "blk.2.ffn_up.weight", "blk.2.attn_k.weight", "output.weight", "output_norm.weight"];
    expect([...names].sort(compareTensorNames)).toEqual([
      "output.weight",
      "output_norm.weight",
      "token_embd.weight",
      "blk.2.attn_k.weight",
      "blk.2.ffn_up.weight",
      "blk.10.attn_q.weight",
    ]);
  });

  it("chooses types: vectors and norms kept, ragged rows to F16, output.weight Q6_K in q4_0 unless its rows are not 256-blocks or pure", () => {
    const q4 = { type: "q4_0" } as const;
    const model = { nLayers: 5, nGqa: 2, tiedEmbeddings: false };
    expect(targetTensorType("blk.0.attn_norm.weight", [64], GgmlType.F32, q4, model)).toBe(GgmlType.F32);
    expect(targetTensorType("blk.0.ffn_down.weight", [172, 64], GgmlType.F32, q4, model)).toBe(GgmlType.F16);
    expect(targetTensorType("output.weight", [64, 512], GgmlType.F32, q4, model)).toBe(GgmlType.Q8_0);
    expect(targetTensorType("output.weight", [256, 512], GgmlType.F32, q4, model)).toBe(GgmlType.Q6_K);
    expect(targetTensorType("output.weight", [64, 512], GgmlType.F32, { type: "q4_0", pure: true }, model)).toBe(GgmlType.Q4_0);
    expect(targetTensorType("token_embd.weight", [64, 512], GgmlType.F16, q4, model)).toBe(GgmlType.Q4_0);
    expect(targetTensorType("token_embd.weight", [256, 512], GgmlType.F16, q4, { ...model, tiedEmbeddings: true })).toBe(GgmlType.Q6_K);
    expect(targetTensorType("rope_freqs", [32, 2], GgmlType.F32, q4, model)).toBe(GgmlType.F32); // not a weight
  });
});

describe("npm run model:quantize", () => {
  const run = promisify(execFile);
  const tsx = "node_modules/.bin/tsx";
  const dir = mkdtempSync(join(tmpdir(), "quantize-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fail = (args: string[]) => run(tsx, ["scripts/model-quantize.ts", ...args]).then(
    () => ({ code: 0, stderr: "" }),
    (e: { code: number; stderr: string }) => e,
  );

  it("writes the llama.cpp file and prints a summary", async () => {
    const out = join(dir, "q4.gguf");
    const { stdout } = await run(tsx, ["scripts/model-quantize.ts", "--in", fixturePath("stories260K.gguf"), "--out", out, "--type", "q4_0"]);
    expect(bytesEqual(readFileSync(out), readModelFile("stories260K-Q4_0.gguf"))).toBe(true);
    expect(stdout).toMatch(/Q4_0 31/);
    expect(stdout).toMatch(/Q8_0 1/);
    expect(stdout).toMatch(/F16 5/);
    expect(stdout).toMatch(/1\.13 MiB -> 0\.26 MiB/);
  });

  it.each([
    [["--in", "no-such-model.gguf", "--out", "/tmp/x.gguf", "--type", "q8_0"], /input file not found: .*no-such-model\.gguf/],
    [["--in", fixturePath("stories260K.gguf"), "--out", "/tmp/x.gguf", "--type", "q5_k"], /unknown --type "q5_k"; known: q8_0, q4_0/],
    [["--in", fixturePath("stories260K-Q8_0.gguf"), "--out", "/tmp/x.gguf", "--type", "q4_0"], /already Q8_0/],
    [["--in", fixturePath("stories260K.gguf"), "--type", "q8_0"], /--out is required/],
  ])("bad usage %j exits 1 with a clear message", async (args, message) => {
    const err = await fail(args);
    expect(err.code).toBe(1);
    expect(err.stderr).toMatch(message);
  });
});
