// Text absorption: how many string-safe ASCII bytes a grammar state takes in any order before one can die.
import type { GState, GrammarEngine } from "./engine";

/**
 * The grammar-independent byte class of the mask fast path: printable ASCII except `"` and `\` — the bytes a JSON
 * string body (and most free-text rules) accepts one per character. Tokens made only of them are most of a vocabulary.
 */
export const isTextByte = (b: number): boolean => b >= 0x20 && b <= 0x7e && b !== 0x22 && b !== 0x5c;
const TEXT: readonly number[] = Array.from({ length: 256 }, (_, b) => b).filter(isTextByte);
const TEXT_SET = new Uint32Array(8);
for (const b of TEXT) TEXT_SET[b >> 5]! |= 1 << (b & 31);

/**
 * How a state's stacks see the text bytes: 0 none accepts any (all die), 1 each accepts all or none of them (so all
 * text bytes lead to one state), 2 mixed (step them one by one).
 */
function textUniformity(engine: GrammarEngine, s: GState): 0 | 1 | 2 {
  const { charsets, arg } = engine.graph;
  let some = false;
  for (const st of s.stacks) {
    if (st.pos < 0) continue;
    const base = arg[st.pos]! * 8;
    let all = true;
    let any = false;
    for (let w = 0; w < 8; w++) {
      const t = TEXT_SET[w]!;
      const hit = (charsets[base + w]! & t) >>> 0;
      if (hit !== 0) any = true;
      if (hit !== t) all = false;
    }
    if (any && !all) return 2;
    if (all) some = true;
  }
  return some ? 1 : 0;
}

/** "At least this many" (larger than any token): a state that absorbs text forever, like the body of `char*`. */
export const ABSORB_CAP = 0xffff;

/** The distinct successors of `s` over text bytes, or null when some text byte kills it ("leaky"). */
function textSuccessors(engine: GrammarEngine, s: GState): GState[] | null {
  const u = textUniformity(engine, s);
  if (u === 0) return null;
  if (u === 1) {
    // One step stands for all 93 text bytes; fill their transitions so the trie walk finds them cached.
    const n = engine.step(s, 0x61)!;
    const trans = s.trans!;
    for (const b of TEXT) trans[b] = n;
    return [n];
  }
  const out: GState[] = [];
  let last: GState | null = null;
  for (const b of TEXT) {
    let n = s.trans === undefined ? undefined : s.trans[b];
    if (n === undefined) n = engine.step(s, b);
    if (n === null) return null;
    if (n !== last && !out.includes(n)) out.push(n);
    last = n;
  }
  return out;
}

/**
 * The largest D such that every string of at most D text bytes keeps `state` alive: the BFS distance (over text
 * bytes) to the nearest leaky state, ABSORB_CAP when none is reachable. A token made of text bytes, at most D long,
 * is then allowed without stepping through it. Exact; cached on the state. A bounded string (maxLength k) is a chain
 * of single-successor states, so the whole chain gets its value from one search.
 */
export function textAbsorb(engine: GrammarEngine, state: GState): number {
  if (state.absorb !== undefined) return state.absorb;
  const levels: GState[][] = [];
  const seen = new Set<number>([state.id]);
  let frontier: GState[] = [state];
  let best = ABSORB_CAP;
  for (let depth = 0; frontier.length > 0 && depth < best; depth++) {
    levels.push(frontier);
    const next: GState[] = [];
    for (const s of frontier) {
      if (s.absorb !== undefined && depth > 0) {
        best = Math.min(best, depth + s.absorb);
        continue;
      }
      const succ = textSuccessors(engine, s);
      if (succ === null) {
        best = Math.min(best, depth);
        continue;
      }
      for (const n of succ) if (!seen.has(n.id)) seen.add(n.id), next.push(n);
    }
    frontier = next;
  }
  // Along a prefix of single-state levels the path is forced, so each of those states is `best - depth` away too
  // (when the search ran out of states without a leak, all of them absorb forever; an underestimate is always safe).
  const forever = best === ABSORB_CAP && frontier.length === 0;
  for (let d = 0; d < levels.length && levels[d]!.length === 1; d++) {
    const s = levels[d]![0]!;
    if (s.absorb === undefined) s.absorb = forever ? ABSORB_CAP : best - d;
  }
  return state.absorb!;
}
