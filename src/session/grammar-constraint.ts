// Constrained decoding in the session: a request's GBNF compiled through a per-isolate GrammarCache, matched against a per-model TokenVocab, as the sampler's TokenConstraint.
import type { TokenConstraint } from "../engine/sampler";
import { GrammarCache, GrammarError, GrammarMatcher, TokenVocab, vocabBytes, type Grammar } from "../grammar";
import type { Tokenizer } from "../tokenizer";
import { invalidValue, type ErrorBody } from "../protocol/errors";
import type { GenerateRequest } from "../protocol/generate";

/**
 * Compiled grammars of this isolate, shared by every request and session object in it: a grammar's DFA states and
 * masks are built lazily as it serves, so repeated response_formats get cheaper (see src/grammar/cache.ts).
 */
const grammars = new GrammarCache({ maxEntries: 64, maxBytes: 64 << 20 });

/** One TokenVocab (token bytes and their trie) per loaded model's tokenizer, built on the first constrained request. */
const vocabs = new WeakMap<Tokenizer, TokenVocab>();

export function tokenVocab(tokenizer: Tokenizer): TokenVocab {
  let vocab = vocabs.get(tokenizer);
  if (!vocab) {
    const v = tokenizer.vocab;
    vocab = new TokenVocab(vocabBytes(tokenizer.model, [...v.tokens], Array.from(v.types)), { eogTokens: [...tokenizer.eogIds] });
    vocabs.set(tokenizer, vocab);
  }
  return vocab;
}

/** The request's compiled grammar (null: none), or the 400 its GBNF earns. The Worker checked it already; this is the session's own check. */
export function requestGrammar(req: GenerateRequest): { ok: true; grammar: Grammar | null } | { ok: false; error: ErrorBody } {
  if (!req.grammar) return { ok: true, grammar: null };
  const param = req.grammar.param || "grammar";
  if (typeof req.grammar.gbnf !== "string") return { ok: false, error: invalidValue(`${param}: the grammar must be GBNF text`, param, "invalid_grammar") };
  try {
    return { ok: true, grammar: grammars.gbnf(req.grammar.gbnf) };
  } catch (e) {
    if (e instanceof GrammarError) return { ok: false, error: invalidValue(`${param}: ${e.message}`, param, "invalid_grammar") };
    throw e;
  }
}

/**
 * The sampler's constraint for one choice of a request: a fresh matcher over the generated tokens only (a session's
 * earlier text and this request's prompt are not part of it). Masking sets every token the grammar does not allow now
 * to -Infinity; EOG is allowed exactly when the grammar is complete.
 */
export function grammarConstraint(tokenizer: Tokenizer, grammar: Grammar): TokenConstraint {
  const matcher = new GrammarMatcher(grammar, tokenVocab(tokenizer));
  return {
    mask(logits: Float32Array): void {
      const allowed = matcher.allowedTokens();
      const n = logits.length;
      for (let w = 0; w * 32 < n; w++) {
        const word = w < allowed.length ? allowed[w]! : 0;
        if (word === 0xffffffff) continue;
        const end = Math.min(n, w * 32 + 32);
        for (let i = w * 32; i < end; i++) if (((word >>> (i & 31)) & 1) === 0) logits[i] = -Infinity;
      }
    },
    accept: (token) => matcher.accept(token),
    isDone: () => matcher.isDone(),
  };
}

/** The constraint a request's choice samples under (null: unconstrained); requestInput() has refused a bad grammar already. */
export function constraintFor(tokenizer: Tokenizer, req: GenerateRequest): TokenConstraint | null {
  const r = requestGrammar(req);
  return r.ok && r.grammar ? grammarConstraint(tokenizer, r.grammar) : null;
}
