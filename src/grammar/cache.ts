// GrammarCache: compiled grammars by canonical source key (GBNF text, or schema + options), LRU within an entry and byte budget.
import { compileJsonSchema, type JsonSchemaOptions } from "./json-schema";
import { compileGbnf, type Grammar } from "./matcher";

/**
 * Why: compiling is cheap, but a Grammar also carries its lazily built DFA states and per-vocabulary masks, and those
 * are what make masks fast (a cold grammar walks the vocabulary trie for every new parser state; a warm one mostly
 * looks masks up). Requests repeating a response_format should therefore share one Grammar.
 *
 * Keys: `gbnf:` + the text, or `schema:` + a canonical JSON of [schema, options]. The serialization keeps key order
 * (the order of `properties` is the order of generated keys, so it is part of the meaning) and spells out what
 * JSON.stringify would drop or change (undefined, NaN, Infinity), so two keys are equal only for equal inputs.
 *
 * Budget: at most `maxEntries` grammars and about `maxBytes` of them (Grammar.approxBytes: rule graph, interned states
 * with their transitions, cached masks), least recently used evicted first. Grammars grow while they serve, so the
 * budget is re-checked on every lookup. An evicted Grammar keeps working for matchers that hold it.
 *
 * Per-vocabulary structures (TokenVocab: the token trie, text-token classes) are per model, not per grammar: build one
 * TokenVocab per loaded model and pass it to every GrammarMatcher; the cache holds grammars only.
 */
export interface GrammarCacheOptions {
  /** Default 64. */
  readonly maxEntries?: number;
  /** Default 256 MiB. */
  readonly maxBytes?: number;
}

export class GrammarCache {
  private readonly entries = new Map<string, Grammar>(); // insertion order = recency order (oldest first)
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  hits = 0;
  misses = 0;

  constructor(options: GrammarCacheOptions = {}) {
    this.maxEntries = Math.max(1, options.maxEntries ?? 64);
    this.maxBytes = Math.max(0, options.maxBytes ?? 256 << 20);
  }

  /** The compiled GBNF grammar (GrammarError, not cached, on bad text). */
  gbnf(text: string): Grammar {
    return this.get(`gbnf:${text}`, () => compileGbnf(text));
  }

  /** The compiled JSON Schema grammar (GrammarError, not cached, on unsupported schemas). */
  jsonSchema(schema: unknown, options: JsonSchemaOptions = {}): Grammar {
    const opts = { ignoreUnknownKeywords: options.ignoreUnknownKeywords === true };
    return this.get(`schema:${canonicalJson([schema, opts])}`, () => compileJsonSchema(schema, opts));
  }

  get size(): number {
    return this.entries.size;
  }

  /** Approximate bytes held by the cached grammars now. */
  get bytes(): number {
    let total = 0;
    for (const g of this.entries.values()) total += g.approxBytes;
    return total;
  }

  clear(): void {
    this.entries.clear();
  }

  private get(key: string, compile: () => Grammar): Grammar {
    let g = this.entries.get(key);
    if (g) {
      this.hits++;
      this.entries.delete(key); // move to the most recent end
    } else {
      this.misses++;
      g = compile();
    }
    this.entries.set(key, g);
    this.evict(key);
    return g;
  }

  /** Drops least recently used entries beyond the budget; the one just used stays even when alone over budget. */
  private evict(keep: string): void {
    let bytes = this.bytes;
    for (const [key, g] of this.entries) {
      if (this.entries.size <= this.maxEntries && bytes <= this.maxBytes) break;
      if (key === keep) continue;
      this.entries.delete(key);
      bytes -= g.approxBytes;
    }
  }
}

/** Deterministic JSON of a value, keeping key order, with undefined/NaN/±Infinity/bigint spelled out rather than dropped. */
export function canonicalJson(v: unknown): string {
  if (v === undefined) return '{"$undefined":1}';
  if (typeof v === "number") return Number.isFinite(v) ? JSON.stringify(v) : `{"$number":"${String(v)}"}`;
  if (typeof v === "bigint") return `{"$bigint":"${v.toString()}"}`;
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? `{"$${typeof v}":1}`;
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
}
