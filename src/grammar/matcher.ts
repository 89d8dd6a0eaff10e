// Grammar (a compiled rule graph plus its shared caches) and GrammarMatcher (one generation's position in it).
import { parseGbnf } from "./gbnf";
import { compileRules, type RuleGraph } from "./compile";
import { GrammarEngine, type GState } from "./engine";
import { GrammarError } from "./errors";
import { TokenVocab } from "./vocab";

/** Mask cache budget per (grammar, vocabulary), in bytes of bitsets. */
const MASK_CACHE_BYTES = 32 << 20;

/** A compiled grammar. Immutable as a language; its caches (DFA states, masks per vocabulary) are shared by all matchers. */
export class Grammar {
  readonly engine: GrammarEngine;
  private readonly masks = new WeakMap<TokenVocab, Map<number, Uint32Array>>();
  private maskBytes = 0;

  constructor(
    readonly graph: RuleGraph,
    /** The GBNF text it was compiled from (generated text for JSON Schemas). */
    readonly gbnf: string,
  ) {
    this.engine = new GrammarEngine(graph);
  }

  /** Rough memory held: rule graph, GBNF text, interned states and their transitions, cached masks (GrammarCache's budget). */
  get approxBytes(): number {
    const g = this.graph;
    return g.kind.byteLength * 6 + g.charsets.byteLength + this.gbnf.length * 2 + this.engine.approxBytes + this.maskBytes;
  }

  /** The allowed-token bitset for a state, cached by state (a state is a canonical stack set). Do not mutate it. */
  mask(vocab: TokenVocab, state: GState): Uint32Array {
    let cache = this.masks.get(vocab);
    if (!cache) this.masks.set(vocab, (cache = new Map()));
    let m = cache.get(state.id);
    if (!m) {
      m = vocab.computeMask(this.engine, state);
      if ((cache.size + 1) * m.byteLength > MASK_CACHE_BYTES) {
        cache.delete(cache.keys().next().value!); // oldest first
        this.maskBytes -= m.byteLength;
      }
      cache.set(state.id, m);
      this.maskBytes += m.byteLength;
    }
    return m;
  }
}

/** Parses and compiles GBNF text (GrammarError with line/column on bad input). */
export function compileGbnf(text: string): Grammar {
  return new Grammar(compileRules(parseGbnf(text), text), text);
}

/**
 * Where one generation stands in a grammar: allowedTokens() before sampling, accept(id) after. The state is fully
 * determined by the accepted bytes (plus whether EOG was accepted), so acceptedBytes() + GrammarMatcher.restore()
 * persist it across requests.
 */
export class GrammarMatcher {
  private state: GState;
  private bytes = new Uint8Array(64);
  private length = 0;
  private ended = false;

  constructor(
    readonly grammar: Grammar,
    readonly vocab: TokenVocab,
  ) {
    this.state = grammar.engine.initial;
  }

  /** A matcher that has accepted `bytes` (and EOG when `ended`); GrammarError when the grammar rejects them. */
  static restore(grammar: Grammar, vocab: TokenVocab, bytes: Uint8Array, ended = false): GrammarMatcher {
    const m = new GrammarMatcher(grammar, vocab);
    if (!m.acceptBytes(bytes)) throw new GrammarError("matcher", "restore: the saved bytes do not match the grammar");
    if (ended) {
      if (!m.state.complete) throw new GrammarError("matcher", "restore: ended before the grammar was complete");
      m.ended = true;
    }
    return m;
  }

  /** Bitset over token ids (bit id&31 of word id>>5); shared with the cache, so read-only. Empty once EOG was accepted. */
  allowedTokens(): Uint32Array {
    if (this.ended) return new Uint32Array(this.vocab.maskWords);
    return this.grammar.mask(this.vocab, this.state);
  }

  /** Advances by a token; a token the grammar does not allow throws GrammarError and leaves the matcher unchanged. */
  accept(tokenId: number): void {
    if (this.ended) throw new GrammarError("matcher", `token ${tokenId} after the end of generation`);
    if (this.vocab.eog.includes(tokenId)) {
      if (!this.state.complete) throw new GrammarError("matcher", `end-of-generation token ${tokenId} before the grammar is complete`);
      this.ended = true;
      return;
    }
    const bytes = this.vocab.tokens[tokenId];
    const next = bytes && bytes.length > 0 ? this.grammar.engine.stepBytes(this.state, bytes) : null;
    if (!next) throw new GrammarError("matcher", `token ${tokenId} is not allowed by the grammar here`);
    this.push(bytes!);
    this.state = next;
  }

  /** Advances by raw bytes (forced text, restoring); false (and no change) when the grammar rejects them. */
  acceptBytes(bytes: Uint8Array): boolean {
    if (this.ended) return bytes.length === 0;
    const next = this.grammar.engine.stepBytes(this.state, bytes);
    if (!next) return false;
    this.push(bytes);
    this.state = next;
    return true;
  }

  /** Whether the text so far is a complete sentence of the grammar (EOG is allowed now). */
  isComplete(): boolean {
    return this.state.complete;
  }

  /** Whether nothing more may follow: EOG was accepted, or the grammar is complete and no byte can extend it. */
  isDone(): boolean {
    return this.ended || (this.state.complete && this.state.stacks.length === 1);
  }

  /** Whether EOG has been accepted. */
  get hasEnded(): boolean {
    return this.ended;
  }

  /** Every byte accepted so far (a copy): with hasEnded, the matcher's serialisable state. */
  acceptedBytes(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  clone(): GrammarMatcher {
    const m = new GrammarMatcher(this.grammar, this.vocab);
    m.state = this.state;
    m.bytes = this.bytes.slice();
    m.length = this.length;
    m.ended = this.ended;
    return m;
  }

  private push(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + bytes.length));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  }
}
