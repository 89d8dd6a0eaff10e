// Shared by the grammar tests: a synthetic byte-piece vocabulary, a temperature-1.0 sampler, shortest completions.
import type { GState, GrammarEngine } from "../../src/grammar/engine";
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
  while (pieces.length < 3000) {
    const c = corpus[Math.floor(rand() * corpus.length)]!;
    const start = Math.floor(rand() * c.length);
    const len = 2 + Math.floor(rand() * 7);
    add(c.subarray(start, Math.min(c.length, start + len)));
  }
  const control = pieces.length;
  const eog = control + 1;
  const all = [...pieces, new Uint8Array(0), new Uint8Array(0)];
  return { vocab: new TokenVocab(all, { eogTokens: [eog] }), pieces: all, eog, control };
}

/** The first byte of a shortest byte path from `state` to a complete state (breadth-first over DFA states). */
export function shortestCompletionByte(engine: GrammarEngine, state: GState): number | undefined {
  if (state.complete) return undefined;
  const first = new Map<number, number>([[state.id, -1]]);
  let frontier: GState[] = [state];
  for (let depth = 0; depth < 10_000 && frontier.length; depth++) {
    const next: GState[] = [];
    for (const s of frontier) {
      for (let b = 0; b < 256; b++) {
        const t = engine.step(s, b);
        if (!t || first.has(t.id)) continue;
        const f = s === state ? b : first.get(s.id)!;
        if (t.complete) return f;
        first.set(t.id, f);
        next.push(t);
      }
    }
    frontier = next;
  }
  throw new Error("no completion reachable");
}

/** Current state of a matcher (tests only). */
export const stateOf = (m: GrammarMatcher): GState => (m as unknown as { state: GState }).state;

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
  while (!m.hasEnded && !m.isComplete()) m.accept(shortestCompletionByte(grammar.engine, stateOf(m))!); // single-byte ids = bytes
  if (!m.hasEnded) m.accept(v.eog);
  return new TextDecoder("utf-8", { fatal: true }).decode(m.acceptedBytes());
}
