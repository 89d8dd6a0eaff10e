// `npm run model:synth -- --shape S --type T --seed N --out FILE`: writes a deterministic random-weight llama GGUF.
import { writeFileAtomic } from "./lib/atomic-write";
import { modelPath } from "./lib/model-dir";
import { SYNTH_SHAPES, SYNTH_TYPES, synthModel, type SynthShapeName, type SynthTypeName } from "./lib/synth/model";
import { parseFlags, UsageError } from "./lib/args";

const USAGE = `usage: npm run model:synth -- --shape ${Object.keys(SYNTH_SHAPES).join("|")} --type ${Object.keys(SYNTH_TYPES).join("|")} --seed N --out FILE
Writes a llama GGUF v3 with random normal(0, 0.02) weights (norms 1.0) and a synthetic SentencePiece vocabulary.
The same arguments always give a byte-identical file. --type defaults to f32 and --seed to 1.
FILE is a path (./x or /x), or a bare name, which goes into the model directory ($EDGE_LLAMA_MODELS, default ./models).`;

function main(): void {
  const { flags, positional } = parseFlags(process.argv.slice(2), { shape: "string", type: "string", seed: "number", out: "string", help: "boolean" });
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
  if (!flags.out) throw new UsageError("--out is required");

  const out = modelPath(flags.out);
  const start = performance.now();
  const bytes = synthModel({ shape: flags.shape as SynthShapeName, type: type as SynthTypeName, seed });
  writeFileAtomic(out, bytes);
  const secs = (performance.now() - start) / 1000;
  console.log(`wrote ${out}: ${flags.shape} ${type} seed ${seed}, ${bytes.length} bytes in ${secs.toFixed(1)} s`);
}

try {
  main();
} catch (err: unknown) {
  const e = err instanceof Error ? err : new Error(String(err));
  console.error(`error: ${e.message}`);
  if (e instanceof UsageError) console.error(USAGE);
  process.exit(1);
}
