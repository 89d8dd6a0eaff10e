// Known downloadable models: where each lives on Hugging Face and the exact size and sha256 it must have.

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
