// `npm run model:synth -- --shape S --type T --seed N [overrides] [--vocab-from F] --out FILE`: writes a random-weight llama GGUF.
import { readFileSync } from "node:fs";
import { writeFileAtomic } from "./lib/atomic-write";
import { modelPath } from "./lib/model-dir";
import { SHAPE_INT_FIELDS, SYNTH_SHAPES, SYNTH_TYPES, synthModel, synthShapeOf, type SynthOverrides, type SynthShapeName } from "./lib/synth/model";
import { parseFlags, UsageError, type Flags } from "./lib/args";
import { readGguf } from "../src/gguf/index";

const USAGE = `usage: npm run model:synth -- --shape NAME [--type TYPE] [--seed N] [overrides] [--vocab-from FILE] --out FILE
  --shape       a preset: ${Object.keys(SYNTH_SHAPES).join(", ")}
  --type        weight type of the matrices: ${Object.keys(SYNTH_TYPES).join(", ")} (default f32; norms stay F32;
                rows that do not fill whole blocks fall back as llama.cpp's quantizer does)
  --seed        any non-negative integer (default 1)
  overrides     replace one field of the preset: --dim --ffn --layers --heads --kv-heads --vocab --context (integers),
                --rope-base --rms-eps (numbers), --tied or --untied, --name (default "<preset>-custom")
  --vocab-from  copy every tokenizer.* key (vocabulary, merges, special ids, chat template) of this GGUF; the vocab
                size becomes its token count (a vocab-only GGUF will do). Default: a synthetic SentencePiece vocabulary
  --out         where to write
Writes a llama GGUF v3 with random normal(0, 0.02) weights (norms 1.0). The same arguments always give a
byte-identical file. FILE (either) is a path (./x or /x), or a bare name, which is in the model directory
($EDGE_LLAMA_MODELS, default ./models).`;

const FLAGS = {
  shape: "string",
  type: "string",
  seed: "number",
  out: "string",
  "vocab-from": "string",
  name: "string",
  dim: "number",
  ffn: "number",
  layers: "number",
  heads: "number",
  "kv-heads": "number",
  vocab: "number",
  context: "number",
  "rope-base": "number",
  "rms-eps": "number",
  tied: "boolean",
  untied: "boolean",
  help: "boolean",
} as const;

/** The shape overrides the flags ask for (only those given). */
function overridesOf(flags: Flags<typeof FLAGS>): SynthOverrides {
  const o: Record<string, unknown> = {};
  for (const [field, flag] of Object.entries(SHAPE_INT_FIELDS)) {
    const v = flags[flag];
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v <= 0) throw new UsageError(`--${flag} must be a positive integer, got ${v}`);
    o[field] = v;
  }
  for (const [field, flag] of [["ropeBase", "rope-base"], ["rmsEps", "rms-eps"]] as const) {
    const v = flags[flag];
    if (v === undefined) continue;
    if (!(v > 0)) throw new UsageError(`--${flag} must be a positive number, got ${v}`);
    o[field] = v;
  }
  if (flags.tied && flags.untied) throw new UsageError("--tied and --untied contradict each other");
  if (flags.tied || flags.untied) o.tied = Boolean(flags.tied);
  if (flags.name !== undefined) o.name = flags.name;
  return o as SynthOverrides;
}

function main(): void {
  const { flags, positional } = parseFlags(process.argv.slice(2), FLAGS);
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  if (positional.length) throw new UsageError(`unexpected argument ${positional[0]}`);
  if (!flags.shape) throw new UsageError("--shape is required");
  if (!Object.hasOwn(SYNTH_SHAPES, flags.shape)) {
    throw new UsageError(`unknown shape "${flags.shape}"; known: ${Object.keys(SYNTH_SHAPES).join(", ")}`);
  }
  const type = flags.type ?? "f32";
  if (!Object.hasOwn(SYNTH_TYPES, type)) throw new UsageError(`unknown type "${type}"; known: ${Object.keys(SYNTH_TYPES).join(", ")}`);
  const seed = flags.seed ?? 1;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got ${seed}`);
  const overrides = overridesOf(flags);
  if (!flags.out) throw new UsageError("--out is required");
  const vocabPath = flags["vocab-from"] === undefined ? undefined : modelPath(flags["vocab-from"]);
  // Parsed once here: synthModel and synthShapeOf both read it.
  const vocabFrom = vocabPath === undefined ? undefined : readGguf(new Uint8Array(readFileSync(vocabPath)));

  const out = modelPath(flags.out);
  const start = performance.now();
  const opts = { shape: flags.shape as SynthShapeName, overrides, type, seed, vocabFrom };
  const bytes = synthModel(opts);
  writeFileAtomic(out, bytes);
  const secs = (performance.now() - start) / 1000;
  const s = synthShapeOf(opts);
  const vocab = vocabPath ? `, vocab ${s.vocab} from ${vocabPath}` : "";
  console.log(`wrote ${out}: ${s.name} ${type} seed ${seed}${vocab}, ${bytes.length} bytes in ${secs.toFixed(1)} s`);
}

try {
  main();
} catch (err: unknown) {
  const e = err instanceof Error ? err : new Error(String(err));
  console.error(`error: ${e.message}`);
  if (e instanceof UsageError) console.error(USAGE);
  process.exit(1);
}
