// `npm run seed:r2 [-- --persist-to DIR]`: uploads every .gguf of the model directory into the local R2 bucket `wrangler dev` reads.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { modelDir } from "./lib/model-dir";
import { parseFlags, UsageError } from "./lib/args";
import { MODEL_BUCKET, putLocalModel } from "./lib/local-r2";
import { DEFAULT_PART_BYTES, modelBucket, uploadMultipart } from "./lib/r2-multipart";

async function main(): Promise<void> {
  const { flags } = parseFlags(process.argv.slice(2), { "persist-to": "string", "multipart-above-mib": "number" });
  const persistTo = resolve(flags["persist-to"] ?? ".wrangler/state");
  // Files above this go part by part (memory holds one part); smaller ones in one `wrangler r2 object put`.
  const above = flags["multipart-above-mib"] ?? DEFAULT_PART_BYTES / 2 ** 20;
  if (!(above >= 5)) throw new UsageError("--multipart-above-mib must be at least 5 (R2's minimum part size)");
  const dir = modelDir();
  if (!existsSync(dir)) throw new Error(`model directory ${dir} does not exist: set EDGE_LLAMA_MODELS or run \`npm run model:pull\``);
  const files = readdirSync(dir).filter((f) => f.endsWith(".gguf"));
  if (files.length === 0) throw new Error(`no .gguf files in ${dir}: run \`npm run model:pull\``);

  // A stamp of what was uploaded (name, size, mtime) keeps `npm run dev` fast when nothing changed.
  const stampPath = join(persistTo, "edge-llama-r2-seed.json");
  const stamp = existsSync(stampPath) ? (JSON.parse(readFileSync(stampPath, "utf8")) as Record<string, string>) : {};
  let proxy: Awaited<ReturnType<typeof modelBucket>> | null = null;
  try {
    for (const file of files) {
      const path = join(dir, file);
      const st = statSync(path);
      const key = `${st.size}:${st.mtimeMs}`;
      if (stamp[file] === key) {
        console.log(`r2 ${MODEL_BUCKET}/${file}: up to date`);
        continue;
      }
      if (st.size > above * 2 ** 20) {
        proxy ??= await modelBucket({ persistTo });
        const parts = await uploadMultipart(proxy.bucket, file, path, { partBytes: Math.max(5, Math.min(above, DEFAULT_PART_BYTES / 2 ** 20)) * 2 ** 20 });
        console.log(`r2 ${MODEL_BUCKET}/${file}: uploaded ${(st.size / 2 ** 20).toFixed(1)} MiB in ${parts} parts`);
      } else {
        console.log(`r2 ${MODEL_BUCKET}/${file}: uploading ${(st.size / 2 ** 20).toFixed(1)} MiB`);
        putLocalModel(path, persistTo, "inherit");
      }
      stamp[file] = key;
      mkdirSync(persistTo, { recursive: true });
      writeFileSync(stampPath, JSON.stringify(stamp, null, 2));
    }
  } finally {
    await proxy?.dispose();
  }
  mkdirSync(persistTo, { recursive: true });
  writeFileSync(stampPath, JSON.stringify(stamp, null, 2));
}

main().catch((e: unknown) => {
  console.error(`seed:r2: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
