// Logits rows for the greedy-pick kernel's tests (Node and workerd): random values with NaN, ±Infinity, the largest float and ties.
import { MAX_F32 } from "../../src/engine/sampler-logits";
import { seededRandom } from "../helpers/random";

/** A small deterministic generator (mulberry32): the same rows in every runtime. */
export const rowRng = seededRandom;

/** The kinds of row: each stresses one rule of the pick (NaN never wins, +Inf ties the largest float, ties to the lowest id, none finite). */
export const ROW_KINDS = ["random", "ties", "specials", "maxfloat", "nonfinite", "allNegInf", "allNaN", "posInfOnly"] as const;
export type RowKind = (typeof ROW_KINDS)[number];

/** A row of n floats of a kind; values are drawn from few levels where ties matter, so equal maxima fall in any lane. */
export function argmaxRow(kind: RowKind, n: number, rand: () => number): Float32Array {
  const row = new Float32Array(n);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  for (let i = 0; i < n; i++) {
    switch (kind) {
      case "random":
        row[i] = (rand() - 0.5) * 40;
        break;
      case "ties":
        row[i] = pick([1, 2, 3, 3, -Infinity]);
        break;
      case "specials":
        row[i] = pick([NaN, -Infinity, Infinity, MAX_F32, -MAX_F32, 0, -0, 5, 5, (rand() - 0.5) * 10]);
        break;
      case "maxfloat":
        row[i] = pick([MAX_F32, Infinity, 1, NaN, -Infinity]);
        break;
      case "nonfinite":
        row[i] = pick([NaN, -Infinity]);
        break;
      case "allNegInf":
        row[i] = -Infinity;
        break;
      case "allNaN":
        row[i] = NaN;
        break;
      case "posInfOnly":
        row[i] = pick([Infinity, NaN]);
        break;
    }
  }
  return row;
}
