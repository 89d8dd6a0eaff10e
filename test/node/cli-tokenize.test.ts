// `npm run tokenize` end to end: --json / human output, --add-special / --parse-special, --file, --jsonl batches, usage errors.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { readGguf } from "../../src/gguf/index";
import { createTokenizer } from "../../src/tokenizer/index";
import { findFixture, fixturePath, optionalFixtures, readFixture } from "../helpers/fixtures";

const run = promisify(execFile);
const tsx = "node_modules/.bin/tsx";
const tokenize = async (...args: string[]) => (await run(tsx, ["scripts/tokenize.ts", ...args])).stdout;
const dir = mkdtempSync(join(tmpdir(), "cli-tokenize-"));

describe("tokenize CLI (SentencePiece: stories260K)", () => {
  const model = fixturePath("stories260K.gguf");
  const tok = createTokenizer(readGguf(readFixture("stories260K.gguf")));

  it("--json prints tokens and pieces; add_special and parse_special are off unless asked", async () => {
    const text = "Once upon a time</s>";
    const plain = JSON.parse(await tokenize("--model", model, "--text", text, "--json")) as { tokens: number[]; pieces: string[] };
    expect(plain.tokens).toEqual(tok.encode(text, { addSpecial: false }));
    expect(plain.pieces.join("")).toBe(" " + text); // the SentencePiece space prefix shows
    const special = JSON.parse(await tokenize("--model", model, "--text", text, "--json", "--add-special", "--parse-special")) as { tokens: number[] };
    expect(special.tokens).toEqual(tok.encode(text, { addSpecial: true, parseSpecial: true }));
    expect(special.tokens[0]).toBe(1);
    expect(special.tokens.at(-1)).toBe(2);
  });

  it("prints one id -> piece line per token without --json; reads --file", async () => {
    const file = join(dir, "in.txt");
    writeFileSync(file, "Hello\nworld");
    const out = await tokenize("--model", model, "--file", file);
    const ids = tok.encode("Hello\nworld", { addSpecial: false });
    expect(out.trimEnd().split("\n").map((l) => Number(l.split(" -> ")[0]))).toEqual(ids);
    expect(out).toMatch(/^\s*\d+ -> " ?[A-Za-z]/);
  });

  it.each([
    [["--text", "x"], /--model is required/],
    [["--model", "stories260K.gguf"], /exactly one of --text, --file and --jsonl/],
    [["--model", "stories260K.gguf", "--text", "x", "--file", "y"], /exactly one of/],
    [["--model", "no-such-model.gguf", "--text", "x"], /model file not found/],
    [["--model", "stories260K.gguf", "--text", "x", "--bogus"], /unknown option --bogus/],
  ])("bad usage %j exits 1 with a clear message", async (args, message) => {
    const err = await run(tsx, ["scripts/tokenize.ts", ...(args as string[])]).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr).toMatch(message);
  });
});

const vocab = optionalFixtures(["vocab/ggml-vocab-gpt-2.gguf", "vocab/smollm2.gguf"]);

describe.skipIf(!vocab.available)("tokenize CLI (byte-level BPE vocabulary-only files)", () => {
  it("--jsonl: one {tokens} line per input line, in order, with per-line add_special / parse_special", async () => {
    const path = findFixture("vocab/smollm2.gguf")!;
    const tok = createTokenizer(readGguf(readFixture("vocab/smollm2.gguf")));
    const requests = [
      { text: "Hello world" },
      { text: "<|im_start|>user\nHi<|im_end|>", parse_special: true },
      { text: "<|im_start|>user\nHi<|im_end|>" },
      { text: "", add_special: true },
      { text: "x 😀 y", add_special: false, parse_special: false },
    ];
    const file = join(dir, "batch.jsonl");
    writeFileSync(file, requests.map((r) => JSON.stringify(r)).join("\n") + "\n\n");
    const lines = (await tokenize("--model", path, "--jsonl", file)).trimEnd().split("\n");
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(
      requests.map((r) => ({ tokens: tok.encode(r.text, { addSpecial: r.add_special ?? false, parseSpecial: r.parse_special ?? false }) })),
    );
    expect((JSON.parse(lines[1]!) as { tokens: number[] }).tokens[0]).toBe(1); // <|im_start|>
    // The command-line flags are the defaults of lines that do not say.
    const special = (await tokenize("--model", path, "--jsonl", file, "--parse-special")).trimEnd().split("\n");
    expect(special[2]).toBe(special[1]);
  });

  it("--json with a GPT-2 vocabulary: pieces are the tokens' bytes as text", async () => {
    const out = JSON.parse(await tokenize("--model", findFixture("vocab/ggml-vocab-gpt-2.gguf")!, "--text", "Hello world<|endoftext|>", "--json", "--parse-special")) as {
      tokens: number[];
      pieces: string[];
    };
    expect(out).toEqual({ tokens: [15496, 995, 50256], pieces: ["Hello", " world", "<|endoftext|>"] });
  });

  it("a bad --jsonl line names its line number", async () => {
    const file = join(dir, "bad.jsonl");
    writeFileSync(file, '{"text":"ok"}\n{"txt":"no"}\n');
    const err = await run(tsx, ["scripts/tokenize.ts", "--model", findFixture("vocab/ggml-vocab-gpt-2.gguf")!, "--jsonl", file]).catch((e: { code: number; stderr: string }) => e);
    expect((err as { code: number }).code).toBe(1);
    expect((err as { stderr: string }).stderr).toMatch(/bad\.jsonl:2: expected an object with a "text" string/);
  });
});
