// Constrained decoding: GBNF and JSON Schema grammars, and per-token allowed masks over a byte-level vocabulary.
/**
 * API
 * - `compileGbnf(text)` → Grammar: llama.cpp GBNF (`name ::= ...`, `|`, `( )`, `* + ?`, `{m}` `{m,}` `{m,n}`,
 *   "literals" and [classes] with escapes, `[^...]`, `.`, `#` comments, a `root` rule). GrammarError with line/column.
 * - `compileJsonSchema(schema, opts)` → Grammar; `jsonSchemaToGbnf` gives the GBNF text. `{type: "json_object"}` is any
 *   JSON object. Unsupported features throw GrammarError with `feature` and `path` (a JSON pointer) for a 400.
 * - `new TokenVocab(tokenBytes, { eogTokens })`: one Uint8Array per token id (empty for control tokens); build it once
 *   per model and share it. `vocabBytes(model, tokens, types)` turns GGUF token strings into those bytes.
 * - `new GrammarMatcher(grammar, vocab)`: `allowedTokens()` → Uint32Array bitset (bit id&31 of word id>>>5; see
 *   `maskHas`, `maskIds`), `accept(id)`, `acceptBytes(bytes)`, `isComplete()` (EOG allowed), `isDone()`, `clone()`.
 *   Its state is the accepted bytes: `acceptedBytes()` + `hasEnded`, rebuilt with `GrammarMatcher.restore(...)`.
 * - `new GrammarCache({ maxEntries, maxBytes })`: `.gbnf(text)` / `.jsonSchema(schema, opts)` return a shared compiled
 *   Grammar (LRU by canonical source key within an entry and byte budget; see cache.ts). Share grammars across
 *   requests: their DFA states and masks are what make masks cheap. The TokenVocab is per model, not per grammar.
 *
 * JSON Schema subset: type (object, array, string, number, integer, boolean, null, and type lists), properties +
 * required (declared order; optional ones may be skipped), additionalProperties (absent or false: no extra keys are
 * ever generated, which every schema accepts, as OpenAI's strict mode requires; a schema or true only without
 * properties, as a map), items, minItems/maxItems, enum, const, anyOf, oneOf (as anyOf: branches should exclude
 * each other), allOf with one schema, local $ref (#, #/$defs/..., #/definitions/..., recursion allowed),
 * minLength/maxLength (code points), pattern (regex subset, see regex.ts; unanchored sides allow any text), format
 * date/time/date-time/uuid (dates stop at Feb 28), integer minimum/maximum/exclusive* (exact digit grammars),
 * number minimum/maximum with integer values (decimals without exponent). Annotations (title, description, default,
 * examples, $schema, $id, $comment, deprecated, readOnly, writeOnly) are ignored. Everything else is a GrammarError:
 * not, if/then/else, patternProperties, propertyNames, min/maxProperties, dependent*, prefixItems, contains,
 * uniqueItems: true, multipleOf, exclusiveMinimum/Maximum and non-integer bounds on numbers, other formats, pattern or
 * format together with min/maxLength, remote $ref, $ref with sibling keywords, bare $ref cycles, `false` schemas.
 *
 * How: the grammar is lowered to bytes (character classes become UTF-8 byte-range sequences), so a token may end
 * inside a character. A position is a set of llama.cpp-style parse stacks; stack nodes and stack sets are interned,
 * so each distinct set is one lazily built DFA state with cached byte transitions. The mask of a state is a walk of
 * the vocabulary's byte trie that prunes at the first dead byte, cached per (state, vocabulary). Fast path (absorb.ts):
 * "text bytes" (printable ASCII but `"` and `\`) are most of a vocabulary; a state's text absorption (how many text
 * bytes in any order it surely survives, exact and cached per state) lets the walk take, without stepping, all text
 * tokens up to that length (by length class, precomputed per vocabulary) and any all-text trie subtree no deeper.
 */
export { GrammarError, type GrammarErrorKind } from "./errors";
export { Grammar, GrammarMatcher, compileGbnf } from "./matcher";
export { compileJsonSchema, jsonSchemaToGbnf, type JsonSchemaOptions } from "./json-schema";
export { TokenVocab, maskHas, maskIds, type TokenVocabOptions } from "./vocab";
export { gpt2PieceBytes, vocabBytes } from "./pieces";
export { GrammarCache, canonicalJson, type GrammarCacheOptions } from "./cache";
