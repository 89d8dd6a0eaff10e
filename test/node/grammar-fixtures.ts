// Shared by the grammar tests: a synthetic byte-piece vocabulary, a temperature-1.0 sampler, shortest completions.
import type { GState, GrammarEngine, StackNode } from "../../src/grammar/engine";
import { GrammarMatcher, TokenVocab, maskIds, type Grammar } from "../../src/grammar/index";
import { seededRandom } from "../helpers/random";

const enc = new TextEncoder();

/**
 * All 256 single bytes, then a few thousand multi-byte pieces: JSON structure that spans several grammar elements
 * (`":"`, `"},{"`), literals, numbers, whitespace runs, escapes, non-ASCII characters whole and cut in the middle,
 * and random substrings of sample JSON. The last two ids are a control token (no bytes) and EOG (no bytes).
 */
export function syntheticVocab(seed = 1): { vocab: TokenVocab; pieces: Uint8Array[]; eog: number; control: number } {
  const rand = seededRandom(seed);
  const pieces: Uint8Array[] = [];
  const seen = new Set<string>();
  const add = (bytes: Uint8Array) => {
    const key = bytes.join(",");
    if (bytes.length === 0 || seen.has(key)) return;
    seen.add(key);
    pieces.push(bytes);
  };
  for (let b = 0; b < 256; b++) add(Uint8Array.of(b));
  const structural = ['":"', '"},{"', '{"', '":', '",', '"}', "},", "],", "[{", "}]", ' "', '": "', '", "', "null", "true", "false", "nul", "tr", "fa", "lse", "12", "0.", "-1", "e+", "E-", ".5", "00", "123", "2024-", "-01-", "T12:", ":00Z", "Z", "\\\"", "\\\\", "\\n", "\\u00", "\\ud83d", "\\u0041", "  ", "\n", "\n  ", "\t", " {", " [", "{}", "[]", "[\"", "\"]", ",\n"];
  for (const s of structural) add(enc.encode(s));
  for (const s of ["é", "ü", "日本", "語", "😀", "👍🏽", "Ω", "€", "\u00a0", "\u2028"]) {
    const b = enc.encode(s);
    add(b);
    for (let i = 1; i < b.length; i++) add(b.subarray(0, i)), add(b.subarray(i)); // partial UTF-8 both ways
  }
  const corpus = [
    '{"name": "Ann", "age": 31, "tags": ["a", "b"], "ok": true, "x": null}',
    '[{"id": "123e4567-e89b-12d3-a456-426614174000", "when": "2024-02-28T12:30:00Z"}, {"v": -12.5e+3}]',
    '{"nested": {"deep": [1, 2, {"k": "v\\"q\\\\"}]}, "ü": "日本語😀", "a b": 0}',
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 foo bar baz qux",
  ].map((s) => enc.encode(s));
  for (let tries = 0; pieces.length < 2500 && tries < 100_000; tries++) {
    const c = corpus[Math.floor(rand() * corpus.length)]!;
    const start = Math.floor(rand() * c.length);
    const len = 2 + Math.floor(rand() * 7);
    add(c.subarray(start, Math.min(c.length, start + len)));
  }
  // Word-like pieces, with and without a leading space, as BPE vocabularies have.
  const letters = "etaoinshrdlucmfwypvbgkqjxz";
  while (pieces.length < 4000) {
    let w = rand() < 0.5 ? " " : "";
    for (let n = 1 + Math.floor(rand() * 6); n > 0; n--) w += letters[Math.floor(rand() * rand() * letters.length)];
    add(enc.encode(w));
  }
  const control = pieces.length;
  const eog = control + 1;
  const all = [...pieces, new Uint8Array(0), new Uint8Array(0)];
  return { vocab: new TokenVocab(all, { eogTokens: [eog] }), pieces: all, eog, control };
}

const minCache = new WeakMap<GrammarEngine, Float64Array>();

/** For each graph position, the fewest bytes that finish its alternative from there (rule minima by fixpoint). */
function suffixMinima(engine: GrammarEngine): Float64Array {
  const hit = minCache.get(engine);
  if (hit) return hit;
  const { kind, arg, ruleAlts } = engine.graph;
  const ruleMin = new Float64Array(ruleAlts.length).fill(Infinity);
  const suffix = new Float64Array(kind.length).fill(Infinity);
  for (let changed = true; changed; ) {
    changed = false;
    for (let pos = kind.length - 1; pos >= 0; pos--) {
      const own = kind[pos] === 0 ? 0 : kind[pos] === 1 ? 1 : ruleMin[arg[pos]!]!;
      suffix[pos] = kind[pos] === 0 ? 0 : own + suffix[pos + 1]!;
    }
    ruleAlts.forEach((alts, r) => {
      const m = Math.min(...alts.map((a) => suffix[a]!));
      if (m < ruleMin[r]!) (ruleMin[r] = m), (changed = true);
    });
  }
  minCache.set(engine, suffix);
  return suffix;
}

/** A shortest byte string taking `state` to a complete state: follow the cheapest stack, lowest byte first. */
export function shortestCompletion(engine: GrammarEngine, state: GState): number[] {
  const suffix = suffixMinima(engine);
  const cost = (s: StackNode): number => {
    let c = 0;
    for (let n: StackNode | null = s; n; n = n.next) c += n.pos < 0 ? 0 : suffix[n.pos]!;
    return c;
  };
  const out: number[] = [];
  let st: GState | null = state;
  while (st && !st.complete) {
    const best = [...st.stacks].sort((a, b) => cost(a) - cost(b))[0]!;
    const set = engine.graph.arg[best.pos]!;
    let b = 0;
    while (((engine.graph.charsets[set * 8 + (b >> 5)]! >>> (b & 31)) & 1) === 0) b++;
    out.push(b);
    st = engine.step(st, b);
    if (out.length > 100_000) throw new Error("no completion reachable");
  }
  if (!st) throw new Error("completion walk died");
  return out;
}

/** Current state of a matcher (tests only). */
export const stateOf = (m: GrammarMatcher): GState => (m as unknown as { state: GState }).state;

/** Brute force for a mask entry: a clone of `m` after accepting token `id`, or null when the grammar refuses it. */
export function acceptedClone(m: GrammarMatcher, id: number): GrammarMatcher | null {
  const c = m.clone();
  try {
    c.accept(id);
    return c;
  } catch {
    return null;
  }
}

/**
 * Samples uniformly among allowed tokens (temperature 1.0 with flat logits) for `budget` tokens, EOG included once
 * complete; then finishes along a shortest completion, one single-byte token at a time. Returns the text.
 */
export function sample(grammar: Grammar, v: { vocab: TokenVocab; eog: number }, rand: () => number, budget = 60): string {
  const m = new GrammarMatcher(grammar, v.vocab);
  for (let step = 0; step < budget; step++) {
    const ids = maskIds(m.allowedTokens());
    if (ids.length === 0) throw new Error(`dead end after ${JSON.stringify(new TextDecoder().decode(m.acceptedBytes()))}`);
    const id = ids[Math.floor(rand() * ids.length)]!;
    m.accept(id);
    if (m.hasEnded) break;
  }
  if (!m.hasEnded) for (const b of shortestCompletion(grammar.engine, stateOf(m))) m.accept(b); // single-byte token id = byte
  if (!m.hasEnded) m.accept(v.eog);
  return new TextDecoder("utf-8", { fatal: true }).decode(m.acceptedBytes());
}

type S = Record<string, unknown>;

/** A random schema from the supported subset; `depth` bounds nesting. */
export function randomSchema(rand: () => number, depth: number, defs: S): S {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const leaf = (): S => {
    switch (int(0, 9)) {
      case 0: {
        const s: S = { type: "string" };
        if (rand() < 0.7) s.minLength = int(0, 3);
        if (rand() < 0.7) s.maxLength = int((s.minLength as number) ?? 0, 8);
        return s;
      }
      case 1:
        return { type: "string", pattern: pick(["^[a-z]{2,5}$", "^\\d{3}-\\d{4}$", "abc", "^(foo|bar)+$", '^[A-Z"\\\\]{1,4}$', "^\\w+@\\w+\\.com$", "x\\d", "^.{0,3}$", "^[^a-z]*$", "^(?:\\s|é|😀)+$", "^a|b$", "^\\u00e9{2}[\\x00-\\x1f]?$"]) };
      case 2:
        return { type: "string", format: pick(["date", "time", "date-time", "uuid"]) };
      case 3: {
        const s: S = { type: "integer" };
        const a = int(-2000, 2000);
        const b = a + int(0, rand() < 0.5 ? 30 : 100_000);
        if (rand() < 0.7) s[rand() < 0.3 ? "exclusiveMinimum" : "minimum"] = rand() < 0.2 ? a + 0.5 : a;
        if (rand() < 0.7) s[rand() < 0.3 ? "exclusiveMaximum" : "maximum"] = b + 2;
        return s;
      }
      case 4: {
        const s: S = { type: "number" };
        const a = int(-100, 100);
        if (rand() < 0.6) s.minimum = a;
        if (rand() < 0.6) s.maximum = a + int(0, 50);
        return s;
      }
      case 5:
        return { enum: pick([["red", "green", "blue"], [1, "one", null, true], ['quo"te', "back\\slash", "日本", "new\nline"], [{ a: 1 }, [1, 2]]]) };
      case 6:
        return { const: pick(["fixed", 42, false, { k: ["v"] }]) };
      case 7:
        return { type: pick(["boolean", "null", "number", "integer", "string"]) };
      case 8:
        return { type: ["string", "null"], maxLength: 4 };
      default:
        return rand() < 0.5 ? {} : { type: "object" };
    }
  };
  if (depth <= 0 || rand() < 0.35) return leaf();
  switch (int(0, 5)) {
    case 0: case 1: {
      const names = ["id", "name", "a b", "ü", 'quo"te', "x", "y", "items", "nested", "k"];
      const properties: S = {};
      const n = int(0, 5);
      for (let i = 0; i < n; i++) properties[pick(names)] = randomSchema(rand, depth - 1, defs);
      const keys = Object.keys(properties);
      const s: S = { type: "object", properties, required: keys.filter(() => rand() < 0.5) };
      if (rand() < 0.5) s.additionalProperties = false;
      return s;
    }
    case 2: {
      const s: S = { type: "array", items: randomSchema(rand, depth - 1, defs) };
      if (rand() < 0.6) s.minItems = int(0, 2);
      if (rand() < 0.6) s.maxItems = int((s.minItems as number) ?? 0, 4);
      return s;
    }
    case 3:
      return { anyOf: [randomSchema(rand, depth - 1, defs), randomSchema(rand, depth - 1, defs), ...(rand() < 0.5 ? [leaf()] : [])] };
    case 4: {
      // oneOf with mutually exclusive branches (different JSON types), as oneOf is compiled like anyOf.
      const types = ["string", "integer", "boolean", "null", "array"].sort(() => rand() - 0.5).slice(0, int(2, 3));
      return { oneOf: types.map((t) => (t === "array" ? { type: "array", items: randomSchema(rand, depth - 1, defs), maxItems: 2 } : { type: t })) };
    }
    default: {
      const name = `d${Object.keys(defs).length}`;
      defs[name] = {}; // reserve the name before recursing
      defs[name] = rand() < 0.3
        ? { type: "object", properties: { v: { type: "integer" }, kids: { type: "array", items: { $ref: `#/$defs/${name}` }, maxItems: 2 } }, required: ["v"] }
        : randomSchema(rand, depth - 1, defs);
      return { $ref: `#/$defs/${name}` };
    }
  }
}
