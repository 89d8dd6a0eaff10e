// End of generation with a real vocabulary (SmolLM2's on a tiny synthetic model): every EOG token stops, not only eos;
// and `npm run generate --parse-special` turns the prompt's special-token text into those tokens.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { createBackend } from "../../src/backends/select";
import { LlamaContext } from "../../src/engine/context";
import { generate } from "../../src/engine/generate";
import { LlamaModel } from "../../src/engine/model";
import { Sampler } from "../../src/engine/sampler";
import { synthModel } from "../../scripts/lib/synth/model";
import { optionalFixtures, readFixture } from "../helpers/fixtures";

const set = optionalFixtures(["vocab/smollm2.gguf"]);
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "edge-llama-eog-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sampler that returns `script` in order (then the last one), so a test decides which token comes next. */
function scripted(script: readonly number[]): Sampler {
  const sampler = new Sampler({ temperature: 0 });
  let i = 0;
  sampler.sample = () => {
    const t = script[Math.min(i++, script.length - 1)]!;
    sampler.accept(t);
    return t;
  };
  return sampler;
}

describe.skipIf(!set.available)("end of generation on the SmolLM2 vocabulary", () => {
  const bytes = set.available ? synthModel({ shape: "tiny", type: "f32", seed: 7, vocabFrom: readFixture("vocab/smollm2.gguf") }) : new Uint8Array();
  const model = set.available ? LlamaModel.load(bytes, createBackend("ref")) : undefined!;
  const tok = () => model.tokenizer;

  it("the vocabulary's EOG set is llama.cpp's: <|endoftext|>, <|im_end|> (eos) and <reponame> (FIM repo)", () => {
    expect([...tok().eogIds].sort((a, b) => a - b)).toEqual([0, 2, 4]);
    expect(tok().eosId).toBe(2);
    expect([0, 2, 4].map((id) => tok().tokenText(id))).toEqual(["<|endoftext|>", "<|im_end|>", "<reponame>"]);
  });

  for (const eog of [0, 2, 4]) {
    it(`stops on token ${eog} (finish eos), keeps it in the context, and never shows its text`, async () => {
      const ctx = new LlamaContext(model, { nCtx: 64 });
      const hello = tok().encode("Hello", { addSpecial: false });
      const g = generate(ctx, scripted([...hello, eog, ...hello]), { input: tok().encode("Hi"), maxTokens: 10 });
      let step = await g.next();
      const texts: string[] = [];
      while (!step.done) {
        texts.push(step.value.text);
        step = await g.next();
      }
      expect(step.value.finishReason).toBe("eos");
      expect(step.value.tokens).toEqual([...hello, eog]);
      expect(step.value.text).toBe("Hello");
      expect(texts.join("")).toBe("Hello");
      expect(ctx.tokens.at(-1)).toBe(eog);
    });
  }

  it("a control token that is not EOG (<|im_start|>) does not stop", async () => {
    const ctx = new LlamaContext(model, { nCtx: 64 });
    const g = generate(ctx, scripted([1, 1, 1]), { input: tok().encode("Hi"), maxTokens: 3 });
    let step = await g.next();
    while (!step.done) step = await g.next();
    expect(step.value).toMatchObject({ finishReason: "length", tokens: [1, 1, 1], text: "" });
  });

  it("npm run generate: --parse-special makes the prompt's <|im_start|> / <|im_end|> control tokens; without it they are text", async () => {
    const path = join(dir, "smol-synth.gguf");
    writeFileSync(path, bytes);
    const prompt = "<|im_start|>user\nHi<|im_end|>\n";
    const cli = async (extra: string[]) => {
      const { stdout } = await run("node_modules/.bin/tsx", ["scripts/generate.ts", "--model", path, "--prompt", prompt, "--max-tokens", "2", "--temperature", "0", "--backend", "ref", "--json", ...extra]);
      return JSON.parse(stdout) as { prompt_tokens: number[]; finish_reason: string };
    };
    const parsed = await cli(["--parse-special"]);
    expect(parsed.prompt_tokens).toEqual(tok().encode(prompt, { addSpecial: false, parseSpecial: true }));
    expect(parsed.prompt_tokens[0]).toBe(1);
    expect(parsed.prompt_tokens).toContain(2);
    const literal = await cli([]);
    expect(literal.prompt_tokens).toEqual(tok().encode(prompt, { addSpecial: false }));
    expect(literal.prompt_tokens).not.toContain(1);
    expect(literal.prompt_tokens).not.toContain(2);
  });
});
