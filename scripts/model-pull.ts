// `npm run model:pull -- [NAME | --url URL --sha256 HEX [--name FILE]] [--dir DIR] [--force]`: downloads a model and verifies it.
import { resolve } from "node:path";
import { modelDir } from "./lib/model-dir";
import { parseFlags, UsageError } from "./lib/args";
import { CATALOG, DEFAULT_MODEL, findModel, knownModelNames, urlEntry } from "./lib/model-catalog";
import { progressPrinter, pullModel, PullError, type Expected } from "./lib/download";

const USAGE = `usage: npm run model:pull -- [NAME] [--dir DIR] [--force] [--list]
       npm run model:pull -- --url URL --sha256 HEX [--name FILE.gguf] [--bytes N] [--dir DIR] [--force]
Downloads NAME (default ${DEFAULT_MODEL}), or any GGUF file at URL, into DIR (default: $EDGE_LLAMA_MODELS, else
./models). The file is checked (size and sha256) before it is moved into place; a copy that is already present and
verifies is kept without any network access. An interrupted download leaves FILE.part, which the same command
continues (HTTP Range) the next time.
  --url URL      any http(s) URL of a .gguf file; needs --sha256 (downloads are always verified)
  --sha256 HEX   the file's SHA-256, 64 hex digits
  --name FILE    file name in DIR, a plain *.gguf name (default: the URL's last path segment)
  --bytes N      the file's exact size, if known (checked before and during the download)
Known models: ${knownModelNames().join(", ")}`;

/** What to fetch: a catalog entry, or a checked --url request. */
function target(flags: { url?: string; sha256?: string; name?: string; bytes?: number }, positional: string[]): Expected {
  if (flags.url !== undefined) {
    if (positional.length > 0) throw new UsageError(`give a model NAME or --url, not both (got ${positional.join(" ")})`);
    return urlEntry({ url: flags.url, sha256: flags.sha256, name: flags.name, bytes: flags.bytes });
  }
  for (const f of ["sha256", "name", "bytes"] as const) {
    if (flags[f] !== undefined) throw new UsageError(`--${f} goes with --url (catalog models carry their own pins)`);
  }
  if (positional.length > 1) throw new UsageError(`one model name at most, got ${positional.join(" ")}`);
  const name = positional[0] ?? DEFAULT_MODEL;
  const entry = findModel(name);
  if (!entry) throw new UsageError(`unknown model "${name}"; known models: ${knownModelNames().join(", ")} (or use --url)`);
  return entry;
}

// Ctrl-C stops the download; its .part file stays, so the next run resumes it.
const abort = new AbortController();

async function main(): Promise<void> {
  const { flags, positional } = parseFlags(process.argv.slice(2), {
    dir: "string",
    force: "boolean",
    list: "boolean",
    help: "boolean",
    url: "string",
    sha256: "string",
    name: "string",
    bytes: "number",
  });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  if (flags.list) {
    for (const e of CATALOG) console.log(`${e.name.padEnd(14)} ${e.file}  ${e.bytes} bytes  ${e.description}`);
    return;
  }
  const want = target(flags, positional);
  const dir = flags.dir !== undefined ? resolve(flags.dir) : modelDir();
  process.once("SIGINT", () => {
    abort.abort();
    setTimeout(() => process.exit(130), 2000).unref();
  });
  const progress = progressPrinter(process.stdout);
  try {
    await pullModel(want, {
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
  process.exit(abort.signal.aborted ? 130 : 1);
});
