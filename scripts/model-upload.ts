// `npm run model:upload -- --file F [--key K] (--remote | --persist-to DIR)`: a model file of any size into R2 by multipart upload.
import { existsSync, statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { parseFlags, UsageError } from "./lib/args";
import { DEFAULT_PART_BYTES, modelBucket, partSizeFor, uploadMultipart } from "./lib/r2-multipart";
import { MODEL_BUCKET } from "./lib/local-r2";

const USAGE = `usage: npm run model:upload -- --file FILE [--key KEY] [--bucket NAME] [--part-mib N] (--remote | --persist-to DIR)
  Uploads FILE (any size) into R2 as KEY (default: its file name) with a multipart upload of N-MiB parts (default
  ${DEFAULT_PART_BYTES / 2 ** 20}; at least 5; grown when the file would need over 10,000 parts). Only one part is in memory at a time.
  --remote       the real bucket (default ${MODEL_BUCKET}) of the account wrangler is logged in to (\`npx wrangler login\`
                 or CLOUDFLARE_API_TOKEN), through wrangler's remote bindings. \`wrangler r2 object put --remote\`
                 refuses files over 300 MiB; this is the path for bigger models.
  --persist-to   the local bucket \`wrangler dev --persist-to DIR\` reads (default .wrangler/state, as npm run dev).`;

async function main(): Promise<void> {
  const { flags } = parseFlags(process.argv.slice(2), { file: "string", key: "string", bucket: "string", "part-mib": "number", remote: "boolean", "persist-to": "string", help: "boolean" });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  if (!flags.file) throw new UsageError("--file is required");
  const path = resolve(flags.file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`--file ${flags.file}: no such file`);
  if (flags.remote && flags["persist-to"] !== undefined) throw new UsageError("--remote and --persist-to contradict each other");
  const partMib = flags["part-mib"];
  if (partMib !== undefined && !(Number.isInteger(partMib) && partMib >= 5)) throw new UsageError("--part-mib must be an integer ≥ 5 (R2's minimum part size)");
  const size = statSync(path).size;
  const partBytes = partSizeFor(size, partMib === undefined ? DEFAULT_PART_BYTES : partMib * 2 ** 20);
  const key = flags.key ?? basename(path);
  const where = flags.remote ? `remote bucket ${flags.bucket ?? MODEL_BUCKET}` : `local bucket ${flags.bucket ?? MODEL_BUCKET} in ${flags["persist-to"] ?? ".wrangler/state"}`;
  console.error(`${key}: ${(size / 2 ** 20).toFixed(1)} MiB into the ${where}, parts of ${partBytes / 2 ** 20} MiB`);
  const { bucket, dispose } = await modelBucket({ remote: flags.remote === true, persistTo: flags.remote ? undefined : resolve(flags["persist-to"] ?? ".wrangler/state"), ...(flags.bucket && { bucket: flags.bucket }) });
  try {
    const parts = await uploadMultipart(bucket, key, path, { partBytes, onPart: (n, of) => console.error(`  part ${n}/${of}`) });
    console.error(`${key}: uploaded in ${parts} part(s)`);
  } finally {
    await dispose();
  }
}

main().catch((e: unknown) => {
  console.error(`model:upload: ${e instanceof Error ? e.message : String(e)}`);
  if (e instanceof UsageError) console.error(USAGE);
  process.exit(e instanceof UsageError ? 2 : 1);
});
