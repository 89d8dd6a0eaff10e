// Where model files live on disk: the EDGE_LLAMA_MODELS setting, defaulting to ./models (Node-only helpers).
import { existsSync, readFileSync } from "node:fs";
import { resolve, join } from "node:path";

/** The model directory: `$EDGE_LLAMA_MODELS` when set, else `./models` under the working directory. */
export function modelDir(): string {
  return resolve(process.env.EDGE_LLAMA_MODELS || "models");
}

/** Absolute path of a model file inside the model directory (an absolute or ./relative path is kept as given). */
export function modelPath(name: string): string {
  if (name.startsWith("/") || name.startsWith("./") || name.startsWith("../")) return resolve(name);
  return join(modelDir(), name);
}

/** Reads a model file, failing with a message that says how to get it. */
export function readModelFile(name: string): Uint8Array {
  const path = modelPath(name);
  if (!existsSync(path)) {
    throw new Error(
      `model file not found: ${path}. Set EDGE_LLAMA_MODELS to the folder that holds it, or run \`npm run model:pull\`.`,
    );
  }
  const buf = readFileSync(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
