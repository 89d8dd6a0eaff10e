// Known downloadable models (where each lives on Hugging Face, its exact size and sha256) and checked `--url` entries.
import { UsageError } from "./args";
import type { Expected } from "./download";

/** One model file `npm run model:pull` knows how to fetch and verify. */
export interface CatalogEntry {
  /** Name given on the command line. */
  readonly name: string;
  /** File name inside the model directory. */
  readonly file: string;
  /** Download URLs, tried in order; all serve the same bytes (the pins below decide, not the host). */
  readonly urls: readonly string[];
  /** Exact size in bytes. */
  readonly bytes: number;
  /** Lower-case hex sha256 of the whole file. */
  readonly sha256: string;
  readonly description: string;
}

/**
 * Only files whose size and sha256 we have checked against a real copy are listed: a pin nobody verified is worse
 * than none. stories260K's pins match models/stories260K.gguf (see models/PROVENANCE.md).
 */
export const CATALOG: readonly CatalogEntry[] = Object.freeze([
  {
    name: "stories260K",
    file: "stories260K.gguf",
    urls: [
      "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf",
      // The same repository after its rename; Hugging Face normally redirects the old name, this is the fallback.
      "https://huggingface.co/ggml-org/models-moved/resolve/main/tinyllamas/stories260K.gguf",
    ],
    bytes: 1_185_376,
    sha256: "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d",
    description: "Karpathy's tinyllamas stories260K (F32, 512-token vocab), llama.cpp's CI model",
  },
]);

/** The model pulled when no name is given. */
export const DEFAULT_MODEL = "stories260K";

/** Finds a catalog entry by name (case-insensitive; a trailing ".gguf" is accepted). */
export function findModel(name: string): CatalogEntry | undefined {
  const want = name.toLowerCase().replace(/\.gguf$/, "");
  return CATALOG.find((e) => e.name.toLowerCase() === want);
}

/** The known names, for "unknown model" messages and --list. */
export function knownModelNames(): string[] {
  return CATALOG.map((e) => e.name);
}

/** A model file name the model directory can hold: no path, no leading dot, ends in ".gguf" (seed:r2 uploads those). */
export function isPlainGgufName(name: string): boolean {
  return /^[A-Za-z0-9_+-][A-Za-z0-9._+-]*\.gguf$/.test(name);
}

export interface UrlRequest {
  readonly url: string;
  readonly sha256: string | undefined;
  readonly name?: string | undefined;
  readonly bytes?: number | undefined;
}

/**
 * Checks `--url URL --sha256 HEX [--name FILE] [--bytes N]` and turns it into what the downloader must fetch.
 * The sha256 is required: the service runs whatever weights it is given, so nothing unverified is put in place.
 */
export function urlEntry(req: UrlRequest): Expected {
  let url: URL;
  try {
    url = new URL(req.url);
  } catch {
    throw new UsageError(`--url must be an absolute http(s) URL, got "${req.url}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new UsageError(`--url must be http or https, got ${url.protocol}`);
  if (req.sha256 === undefined) {
    throw new UsageError("--url needs --sha256 HEX (the file's SHA-256, e.g. from the model page); downloads are always verified");
  }
  if (!/^[0-9a-fA-F]{64}$/.test(req.sha256)) throw new UsageError(`--sha256 must be 64 hex digits, got "${req.sha256}"`);
  if (req.bytes !== undefined && !(Number.isSafeInteger(req.bytes) && req.bytes > 0)) {
    throw new UsageError(`--bytes must be a positive whole number, got ${req.bytes}`);
  }
  let file = req.name;
  if (file === undefined) {
    // Default: the URL's last path segment ("…/resolve/main/model-Q4_0.gguf" -> "model-Q4_0.gguf").
    let last = url.pathname.split("/").at(-1) ?? "";
    try {
      last = decodeURIComponent(last);
    } catch {
      // keep it encoded; the check below rejects it
    }
    if (!isPlainGgufName(last)) throw new UsageError(`cannot take a .gguf file name from ${req.url}; pass --name FILE.gguf`);
    file = last;
  } else if (!isPlainGgufName(file)) {
    throw new UsageError(`--name must be a plain file name ending in .gguf (no directories), got "${file}"`);
  }
  return { file, urls: [url.href], sha256: req.sha256.toLowerCase(), ...(req.bytes !== undefined && { bytes: req.bytes }) };
}
