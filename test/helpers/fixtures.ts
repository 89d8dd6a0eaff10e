// Test data lookup: core fixtures ship in the repository; larger sets live only in the model directory and skip loudly when absent.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Where a fixture name (a path relative to a model directory, e.g. `oracle/stories260K.logits.json`) is looked for,
 * first hit wins: the model directory ($EDGE_LLAMA_MODELS, CI points it at the workshop's full set), then the core
 * fixtures shipped in test/fixtures/models, then the default model shipped in models/.
 */
export function fixtureDirs(): string[] {
  const dirs = [join(ROOT, "test/fixtures/models"), join(ROOT, "models")];
  const env = process.env.EDGE_LLAMA_MODELS;
  return env ? [resolve(env), ...dirs] : dirs;
}

/** Absolute path of a fixture, or undefined when no directory has it. */
export function findFixture(name: string): string | undefined {
  for (const dir of fixtureDirs()) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** Absolute path of a core fixture (one the repository ships); a missing one is an error saying where it was looked for. */
export function fixturePath(name: string): string {
  const path = findFixture(name);
  if (!path) throw new Error(`test fixture ${name} not found in ${fixtureDirs().join(", ")}`);
  return path;
}

export function readFixture(name: string): Uint8Array {
  const buf = readFileSync(fixturePath(name));
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function readFixtureText(name: string): string {
  return readFileSync(fixturePath(name), "utf8");
}

/** Names of files in a fixture sub-folder (e.g. "oracle") across every fixture directory, with that prefix, sorted. */
export function listFixtures(folder: string, suffix: string): string[] {
  const names = new Set<string>();
  for (const dir of fixtureDirs()) {
    const path = join(dir, folder);
    if (!existsSync(path)) continue;
    for (const f of readdirSync(path)) if (f.endsWith(suffix)) names.add(`${folder}/${f}`);
  }
  return [...names].sort();
}

/** How to get the larger fixture sets that the repository does not ship. */
export const LARGE_FIXTURES_HELP =
  "these are the workshop's larger test sets (see test/fixtures/README.md): set EDGE_LLAMA_MODELS to a folder that holds them";

/** CI (and anyone who sets EDGE_LLAMA_REQUIRE_FIXTURES=1) must run every fixture set: there a missing one fails. */
export function fixturesRequired(): boolean {
  return process.env.CI === "true" || process.env.EDGE_LLAMA_REQUIRE_FIXTURES === "1";
}

export interface OptionalFixtures {
  /** True when every named fixture was found. */
  readonly available: boolean;
  /** Why the tests using them are skipped ("" when available): names the missing files and how to get them. */
  readonly reason: string;
}

/**
 * Checks a set of fixtures the repository does not ship (K-quant oracle models, vocabulary files). When one is missing,
 * the caller skips its tests with `describe.skipIf(!set.available)`: a warning names the files (never a silent skip),
 * and where fixtures are required (CI) this throws instead, failing the test file.
 */
export function optionalFixtures(names: readonly string[]): OptionalFixtures {
  const missing = names.filter((n) => findFixture(n) === undefined);
  if (missing.length === 0) return { available: true, reason: "" };
  const shown = missing.length > 4 ? `${missing.slice(0, 4).join(", ")} and ${missing.length - 4} more` : missing.join(", ");
  const reason = `missing test fixture(s) ${shown}; ${LARGE_FIXTURES_HELP}`;
  if (fixturesRequired()) throw new Error(`fixtures are required here (CI or EDGE_LLAMA_REQUIRE_FIXTURES=1): ${reason}`);
  console.warn(`\n*** SKIPPED: ${reason} ***\n`);
  return { available: false, reason };
}

/** The model files the repository ships (the default model and its two quantizations). */
export const CORE_MODELS = ["stories260K.gguf", "stories260K-Q8_0.gguf", "stories260K-Q4_0.gguf"] as const;

/** Weight types of the synthetic kquant-gqa oracle set (oracle/kquant-gqa-<type>.gguf + .logits.json). */
export const KQUANT_TYPES = ["F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K", "Q4_K_M", "Q5_K_M"] as const;

/** oracle/kquant-gqa-<type>.gguf for every type of the set. */
export const KQUANT_MODELS: readonly string[] = KQUANT_TYPES.map((t) => `oracle/kquant-gqa-${t}.gguf`);

/** A random 1-layer llama with the real 32000-piece Llama-2 vocabulary (tokenizer tests; its licence keeps it out of the repository). */
export const LLAMA2_RANDOM = "llama-2-tiny-random.gguf";
