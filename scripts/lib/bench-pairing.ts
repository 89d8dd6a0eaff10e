// Paired ours/llama.cpp ratios: run i of ours divided by the llama.cpp run adjacent to it in time, so a slow phase of
// the machine that hits both engines cancels out (a ratio of separately sorted medians does not pair them up).
import type { BenchSamples } from "./bench-core";

/** The per-run ratios of one phase: their median, the smallest and largest, and how many runs were paired. */
export interface RatioSpread {
  median: number;
  min: number;
  max: number;
  pairs: number;
}

/** A row's paired ratios to its llama.cpp row, per phase (the report's `paired_ratio` on rows of ours). */
export interface PairedRatio {
  prefill: RatioSpread;
  decode: RatioSpread;
}

/** Spread above which a row is flagged as noisy: the largest paired ratio over the smallest, minus one. */
export const NOISY_SPREAD = 0.2;

const sig4 = (x: number) => Number(x.toPrecision(4));

/**
 * The median of a list (the mean of the middle two for an even count): the bench's figure per row and per paired
 * phase. Here, in a module that loads no engine, so the docs renderer can use it too; bench-core re-exports it.
 */
export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * ours[i] / cpp[i] for every i, summarised; a pair with a missing, zero, negative or non-finite figure is left out.
 * Throws when the lists differ in length (the runs were not paired one to one); null when no pair is usable.
 */
export function ratioSpread(ours: readonly number[], cpp: readonly number[]): RatioSpread | null {
  if (ours.length !== cpp.length) throw new Error(`paired ratio: ${ours.length} runs of ours against ${cpp.length} of llama.cpp`);
  const ok = (x: number | undefined): x is number => typeof x === "number" && Number.isFinite(x) && x > 0;
  const ratios = ours.flatMap((x, i) => (ok(x) && ok(cpp[i]) ? [x / cpp[i]!] : []));
  if (!ratios.length) return null;
  return { median: sig4(median(ratios)), min: sig4(Math.min(...ratios)), max: sig4(Math.max(...ratios)), pairs: ratios.length };
}

/** Both phases' paired ratios of run-ordered samples (null when either phase has no usable pair). */
export function pairedRatio(ours: BenchSamples, cpp: BenchSamples): PairedRatio | null {
  const prefill = ratioSpread(ours.prefill_tokens_per_s, cpp.prefill_tokens_per_s);
  const decode = ratioSpread(ours.decode_tokens_per_s, cpp.decode_tokens_per_s);
  return prefill && decode ? { prefill, decode } : null;
}

/** Whether a phase's paired ratios spread by more than NOISY_SPREAD (max / min − 1). */
export const isNoisy = (s: RatioSpread): boolean => s.max / s.min - 1 > NOISY_SPREAD;

/** The fields of a report row that pairing reads. */
interface PairableRow {
  model: string;
  type: string;
  backend: string;
  runtime: string;
  samples?: BenchSamples;
  paired_ratio?: PairedRatio;
}

const runtimeKind = (runtime: string) => runtime.split(" ")[0];

/**
 * The paired ratio of row `x` of ours to `cpp`, the llama.cpp row it is divided by (llamaCppRowFor): the one stored in
 * the report where the bench wrote it, else rebuilt from both rows' samples where the runs were adjacent in time.
 * - cpp alternated with the Node rows: every Node row ran once per round before it, so run i pairs with its run i when
 *   both rows hold the same number of runs.
 * - cpp "beside <runtime>": one llama.cpp run followed each run of every row of that runtime for the model, in row
 *   order, so x's runs pair with the slice after those of the rows before it; only when the counts add up exactly
 *   (a row dropped after its runs would shift the slices).
 * - otherwise (a workerd row divided by the Node-side row, before llama.cpp ran beside workerd): not paired, null.
 */
export function pairedRatioFor(rows: readonly PairableRow[], x: PairableRow, cpp: PairableRow): PairedRatio | null {
  if (x.paired_ratio) return x.paired_ratio;
  const ours = x.samples;
  const theirs = cpp.samples;
  if (!ours || !theirs) return null;
  const n = ours.prefill_tokens_per_s.length;
  if (n !== ours.decode_tokens_per_s.length || theirs.prefill_tokens_per_s.length !== theirs.decode_tokens_per_s.length) return null;
  const besideKind = cpp.runtime.match(/ beside (\S+)$/)?.[1];
  let offset = 0;
  if (besideKind) {
    if (runtimeKind(x.runtime) !== besideKind) return null;
    const peers = rows.filter((y) => y.backend !== cpp.backend && y.model === x.model && y.type === x.type && runtimeKind(y.runtime) === besideKind);
    const before = peers.slice(0, peers.indexOf(x));
    if (before.length === peers.length) return null; // x is not among the rows of the report
    const count = (y: PairableRow) => y.samples?.prefill_tokens_per_s.length ?? NaN;
    offset = before.reduce((s, y) => s + count(y), 0);
    if (peers.reduce((s, y) => s + count(y), 0) !== theirs.prefill_tokens_per_s.length) return null;
  } else if (runtimeKind(x.runtime) !== "node" || theirs.prefill_tokens_per_s.length !== n) {
    return null;
  }
  const slice = (xs: readonly number[]) => xs.slice(offset, offset + n);
  return pairedRatio(ours, { prefill_tokens_per_s: slice(theirs.prefill_tokens_per_s), decode_tokens_per_s: slice(theirs.decode_tokens_per_s) });
}

/**
 * An ours/llama.cpp cell: the paired ratio, then the ratio of the two rows' medians in parentheses; a noisy phase
 * (isNoisy) adds its paired ratios' range after `flag`. Unpaired: the ratio of the medians alone, in parentheses.
 * Empty when there is no llama.cpp figure.
 */
export function ratioCell(ours: number, cpp: number | undefined, paired: RatioSpread | undefined, unit: string, flag: string): string {
  if (!cpp) return "";
  const f = (x: number) => `${x.toFixed(2)}${unit}`;
  const medians = `(${f(ours / cpp)})`;
  if (!paired) return medians;
  const range = isNoisy(paired) ? ` ${flag}${paired.min.toFixed(2)}–${paired.max.toFixed(2)}` : "";
  return `${f(paired.median)} ${medians}${range}`;
}
