// `npm run model:pull -- [name] [--dir DIR] [--force]`: downloads a known model into the model directory and verifies it.
import { resolve } from "node:path";
import { modelDir } from "./lib/model-dir";
import { parseFlags, UsageError } from "./lib/args";
import { CATALOG, DEFAULT_MODEL, findModel, knownModelNames } from "./lib/model-catalog";
import { progressPrinter, pullModel, PullError } from "./lib/download";

const USAGE = `usage: npm run model:pull -- [NAME] [--dir DIR] [--force] [--list]
Downloads NAME (default ${DEFAULT_MODEL}) into DIR (default: $EDGE_LLAMA_MODELS, else ./models), checking its size and
sha256 before it is moved into place. A copy that is already present and verifies is kept (no network).
Known models: ${knownModelNames().join(", ")}`;

async function main(): Promise<void> {
  const { flags, positional } = parseFlags(process.argv.slice(2), { dir: "string", force: "boolean", list: "boolean", help: "boolean" });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  if (flags.list) {
    for (const e of CATALOG) console.log(`${e.name.padEnd(14)} ${e.file}  ${e.bytes} bytes  ${e.description}`);
    return;
  }
  if (positional.length > 1) throw new UsageError(`one model name at most, got ${positional.join(" ")}`);
  const name = positional[0] ?? DEFAULT_MODEL;
  const entry = findModel(name);
  if (!entry) throw new UsageError(`unknown model "${name}"; known models: ${knownModelNames().join(", ")}`);

  const dir = flags.dir !== undefined ? resolve(flags.dir) : modelDir();
  const abort = new AbortController();
  process.once("SIGINT", () => {
    abort.abort(); // the download stops and its .part file is removed
    setTimeout(() => process.exit(130), 2000).unref();
  });
  const progress = progressPrinter(process.stdout);
  try {
    await pullModel(entry, {
      dir,
      force: flags.force ?? false,
      signal: abort.signal,
      onProgress: progress.update,
      log: (line) => {
        progress.finish();
        console.log(line);
      },
    });
  } finally {
    progress.finish();
  }
}

main().catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  console.error(`error: ${e.message}`);
  if (e instanceof UsageError) console.error(USAGE);
  else if (!(e instanceof PullError)) console.error(e.stack);
  process.exit(1);
});
