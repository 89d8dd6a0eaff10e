// `npm run model:quantize -- --in F --out G --type MIX [--pure]`: quantizes an F32/F16 GGUF as llama.cpp does (byte for byte).
import { existsSync, readFileSync } from "node:fs";
import { writeFileAtomic } from "./lib/atomic-write";
import { resolve } from "node:path";
import { readGguf, writeGguf } from "../src/gguf/index";
import { MODEL_QUANT_TYPES, quantizeModel, type ModelQuantType } from "./lib/quantize-model";
import { modelPath } from "./lib/model-dir";
import { parseFlags, UsageError } from "./lib/args";

const TYPES = Object.keys(MODEL_QUANT_TYPES).join("|");
const USAGE = `usage: npm run model:quantize -- --in FILE --out FILE --type ${TYPES} [--pure]
Quantizes every weight matrix of an F32/F16 GGUF with ggml's reference quantizers and llama.cpp's mixture rules:
the file is byte-identical to llama.cpp's llama_model_quantize without an imatrix. A mix is a default type plus
upgrades (q4_k_m: the classifier and attn_v/ffn_down of some layers as Q6_K; q3_k_m: attn_output Q4_K, early attn_v
Q5_K; ...). Rows that a type's blocks do not divide fall back (Q4_K to Q5_0, Q6_K to Q8_0, ..., else F16); vectors
and norms keep their type. --pure gives every matrix the mix's default type.
FILE is a path (./x or /x), or a bare name inside the model directory ($EDGE_LLAMA_MODELS, default ./models).`;

const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;

function main(): void {
  const { flags, positional } = parseFlags(process.argv.slice(2), { in: "string", out: "string", type: "string", pure: "boolean", help: "boolean" });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
  if (!flags.in) throw new UsageError("--in is required");
  if (!flags.out) throw new UsageError("--out is required");
  if (!flags.type) throw new UsageError("--type is required");
  const type = flags.type.toLowerCase();
  if (!Object.hasOwn(MODEL_QUANT_TYPES, type)) throw new UsageError(`unknown --type "${flags.type}"; known: ${Object.keys(MODEL_QUANT_TYPES).join(", ")}`);

  const inPath = modelPath(flags.in);
  const outPath = modelPath(flags.out);
  if (!existsSync(inPath)) throw new Error(`input file not found: ${inPath}`);
  if (resolve(inPath) === resolve(outPath)) throw new Error(`--out must differ from --in (${inPath})`);

  const start = performance.now();
  const input = readFileSync(inPath);
  const file = readGguf(new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  const { spec, counts } = quantizeModel(file, { type: type as ModelQuantType, pure: flags.pure ?? false });
  const bytes = writeGguf(spec);

  writeFileAtomic(outPath, bytes);
  const secs = (performance.now() - start) / 1000;
  const summary = [...counts].map(([t, n]) => `${t} ${n}`).join(", ");
  console.log(`wrote ${outPath} (${type}${flags.pure ? ", pure" : ""}) in ${secs.toFixed(2)} s`);
  console.log(`  tensors: ${summary}`);
  console.log(`  size: ${mib(input.byteLength)} -> ${mib(bytes.length)} (${((100 * bytes.length) / input.byteLength).toFixed(1)}%)`);
}

try {
  main();
} catch (err: unknown) {
  const e = err instanceof Error ? err : new Error(String(err));
  console.error(`error: ${e.message}`);
  if (e instanceof UsageError) console.error(USAGE);
  process.exit(1);
}
