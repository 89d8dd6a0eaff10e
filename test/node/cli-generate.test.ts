// `npm run generate` end to end: the CLI's JSON output carries llama.cpp's greedy tokens, and bad usage is explained.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { fixturePath } from "../helpers/fixtures";
import { referenceFor } from "../helpers/reference";

const run = promisify(execFile);
const tsx = "node_modules/.bin/tsx";

describe("generate CLI", () => {
  it("--json prints prompt tokens, generated ids, text, backend and timings", async () => {
    const ref = referenceFor("stories260K-Q8_0.gguf").runs[1]!;
    const { stdout } = await run(tsx, ["scripts/generate.ts", "--model", fixturePath("stories260K-Q8_0.gguf"), "--prompt", ref.prompt, "--max-tokens", "64", "--temperature", "0", "--backend", "ref", "--json"]);
    const out = JSON.parse(stdout) as Record<string, unknown> & { timings: Record<string, number> };
    expect(out.prompt_tokens).toEqual(ref.promptTokens);
    expect(out.tokens).toEqual(ref.generatedTokens);
    expect(out.text).toBe(ref.generatedText);
    expect(out.backend).toBe("ref");
    expect(out.timings.prefill_ms).toBeGreaterThan(0);
    expect(out.timings.decode_tokens_per_s).toBeGreaterThan(0);
    expect(Object.keys(out.timings).sort()).toEqual(["decode_ms", "decode_tokens_per_s", "prefill_ms", "prefill_tokens_per_s"]);
  });

  it("streams text without --json", async () => {
    const { stdout } = await run(tsx, ["scripts/generate.ts", "--model", "stories260K.gguf", "--prompt", "Once upon a time", "--max-tokens", "8", "--temperature", "0"]);
    expect(stdout.startsWith("Once upon a time, there was a little girl")).toBe(true);
  });

  it.each([
    [["--prompt", "x"], /--model is required/],
    [["--model", "stories260K.gguf", "--prompt", "x", "--bogus"], /unknown option --bogus/],
    [["--model", "no-such-model.gguf", "--prompt", "x"], /model file not found|no such file/i],
    [["--model", "stories260K.gguf", "--prompt", "x", "--backend", "cuda"], /unknown backend "cuda"/],
    [["--model", "stories260K.gguf", "--prompt", "x", "--temperature", "-1"], /temperature/],
  ])("bad usage %j exits 1 with a clear message", async (args, message) => {
    const err = await run(tsx, ["scripts/generate.ts", ...(args as string[])]).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr).toMatch(message);
  });
});
