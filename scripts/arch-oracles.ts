// `npm run oracle:arch`: llama.cpp's logits and greedy runs on the tiny synthetic model of each architecture (scripts/lib/arch-cases.ts).
//
// Each case is generated with the model generator and a real vocabulary from the model directory, written to a
// temporary file, and run by llama.cpp (scripts/lib/llama-cpp.ts: F32 KV cache, no flash attention, one thread, one
// token per decode): greedy for ARCH_STEPS tokens after the prompt, and the logits at every position of a longer text,
// teacher-forced (random weights often repeat one token greedily, which alone would test few positions). Only a few
// columns per row are kept (llama.cpp's top ids and ids spread over the vocabulary): a 151,936-token row would make
// the oracle megabytes, and the kept columns catch any graph error, which moves every logit.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ARCH_CASES, ARCH_RUN_TYPES, ARCH_STEPS, ARCH_TOP_COLUMNS, spreadColumns, type ArchOracle, type ArchRun } from "./lib/arch-cases";
import { LlamaCpp } from "./lib/llama-cpp";
import { modelPath } from "./lib/model-dir";
import { synthModel } from "./lib/synth/model";

const OUT_DIR = resolve("test/fixtures/arch-oracles");
const round = (x: number) => Number(x.toPrecision(7));

function topIds(row: Float32Array, k: number): number[] {
  const ids = Array.from(row.keys());
  ids.sort((a, b) => row[b]! - row[a]! || a - b);
  return ids.slice(0, k);
}

function runCase(bytes: Uint8Array, prompt: string, text: string, dir: string): { run: ArchRun; cpuVariant: string } {
  const path = join(dir, "model.gguf");
  writeFileSync(path, bytes);
  const llama = new LlamaCpp(path, { nCtx: 256, threads: 1 });
  try {
    const promptIds = llama.tokenize(prompt);
    const { generated } = llama.greedy(promptIds, ARCH_STEPS);
    // Rows along a natural text (random weights often repeat one token greedily, which would test few positions).
    const textIds = llama.tokenize(text);
    const logits = llama.teacherForced(textIds);
    const spread = spreadColumns(llama.nVocab);
    const rows = logits.map((row) => {
      const top = topIds(row, ARCH_TOP_COLUMNS);
      const cols = [...new Set([...top, ...spread])];
      return {
        cols,
        logits: cols.map((c) => round(row[c]!)),
        scale: round(row.reduce((m, x) => Math.max(m, Math.abs(x)), 1)),
        margin: round(row[top[0]!]! - row[top[1]!]!),
      };
    });
    const run = { modelSha256: createHash("sha256").update(bytes).digest("hex"), promptIds, generatedIds: generated, textIds, rows };
    return { run, cpuVariant: llama.cpuVariant };
  } finally {
    llama.free();
  }
}

function main(): void {
  const only = process.argv.slice(2);
  const dir = mkdtempSync(join(tmpdir(), "arch-oracle-"));
  try {
    for (const c of ARCH_CASES.filter((x) => only.length === 0 || only.includes(x.name))) {
      const vocab = new Uint8Array(readFileSync(modelPath(c.vocab)));
      const runs = {} as ArchOracle["runs"];
      let cpuVariant = "";
      for (const type of ARCH_RUN_TYPES) {
        const r = runCase(synthModel({ ...c.synth, type, vocabFrom: vocab }), c.prompt, c.text, dir);
        runs[type] = r.run;
        cpuVariant = r.cpuVariant;
      }
      const oracle: ArchOracle = {
        name: c.name,
        vocab: c.vocab,
        prompt: c.prompt,
        text: c.text,
        runs,
        tool: { llamaCpp: "v0.4.0 (npm node-llama-cpp@3.21.1 prebuilt CPU library)", cpuVariant, threads: 1, kvCache: "F32", flashAttention: false },
      };
      const out = join(OUT_DIR, `${c.name}.json`);
      writeFileSync(out, JSON.stringify(oracle) + "\n");
      console.log(`${out}: ${runs.f32.rows.length} rows; greedy f32 ${runs.f32.generatedIds.join(",")}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
