// Every model:quantize mix against llama.cpp's own llama_model_quantize on the same F32 files: the written files are byte-identical.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ggmlTypeName, readGguf, writeGguf } from "../../src/gguf/index";
import { llamaQuantize } from "../../scripts/lib/llama-cpp-quantize";
import { QUANT_MIXES, type QuantMix } from "../../scripts/lib/quant-mix";
import { quantizeModel } from "../../scripts/lib/quantize-model";
import { synthModel } from "../../scripts/lib/synth/model";

const dir = mkdtempSync(join(tmpdir(), "quant-mix-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Two masters: 8 layers with GQA 4 and 256-wide rows (use_more_bits picks layers 0, 3, 6, 7; q2_k's attn_v rule sees
// GQA 4), and 4 tied layers 288 wide (no whole 256-blocks: every K-quant falls back, token_embd is typed as the classifier).
const MASTERS = {
  "gqa4-256": synthModel({ shape: "tiny", overrides: { dim: 256, ffn: 512, layers: 8, heads: 8, kvHeads: 2, vocab: 320, tied: false }, type: "f32", seed: 21 }),
  "tied-288": synthModel({ shape: "tiny", overrides: { dim: 288, ffn: 576, layers: 4, heads: 4, kvHeads: 4, vocab: 320, tied: true }, type: "f32", seed: 22 }),
};

describe.each(Object.entries(MASTERS))("%s master", (name, master) => {
  const input = join(dir, `${name}.gguf`);
  writeFileSync(input, master);

  it.each(Object.keys(QUANT_MIXES) as QuantMix[])("%s: the same file as llama.cpp's (every tensor type and byte)", (mix) => {
    const out = join(dir, `${name}-${mix}.gguf`);
    llamaQuantize(input, out, mix);
    const theirs = new Uint8Array(readFileSync(out));
    const ours = writeGguf(quantizeModel(readGguf(master), { type: mix }).spec);
    const types = (bytes: Uint8Array) => readGguf(bytes).tensors.map((t) => `${t.name}:${ggmlTypeName(t.type)}`);
    expect(types(ours)).toEqual(types(theirs));
    expect(ours.length).toBe(theirs.length);
    let first = -1;
    for (let i = 0; i < ours.length && first < 0; i++) if (ours[i] !== theirs[i]) first = i;
    expect(first, "first differing byte").toBe(-1);
  });
});
