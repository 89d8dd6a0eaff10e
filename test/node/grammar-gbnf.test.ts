// GBNF: parsing (and its errors, with line and column), matching hand-written grammars byte by byte and by tokens.
import { describe, expect, it } from "vitest";
import { GrammarError, GrammarMatcher, TokenVocab, compileGbnf, maskIds } from "../../src/grammar/index";
import { utf8Sequences } from "../../src/grammar/utf8";

const enc = new TextEncoder();
const bytesVocab = new TokenVocab(Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)));

/** Whether the grammar accepts exactly `text` (complete, fed as bytes). */
function accepts(gbnf: string, text: string | Uint8Array): boolean {
  const m = new GrammarMatcher(compileGbnf(gbnf), bytesVocab);
  return m.acceptBytes(typeof text === "string" ? enc.encode(text) : text) && m.isComplete();
}
function gbnfError(text: string): GrammarError {
  try {
    compileGbnf(text);
  } catch (e) {
    if (e instanceof GrammarError) return e;
    throw e;
  }
  throw new Error("expected a GrammarError");
}

describe("GBNF parsing", () => {
  it("reads rules, comments, alternatives over several lines, groups and all quantifiers", () => {
    const g = `# a comment
root ::= greeting ws name{1,3}   # trailing comment
greeting ::=
    "hi"
  | "hello" ("!")?
name ::= [A-Z] [a-z]* | "x"+
ws ::= [ \\t]{1,}
`;
    for (const t of ["hi Bob", "hello! AnnBob", "hi xxxCy", "hello\tZ"]) expect(accepts(g, t), t).toBe(true);
    for (const t of ["hi", "hello!! Bob", "hi BobAnnCyDe", "hibob", "hi bob"]) expect(accepts(g, t), t).toBe(false);
  });

  it("handles escapes in literals and classes, negated classes and `.`", () => {
    const g = String.raw`root ::= "\"q\"\n" [\x41-\x43\]] [^a-z] . "\u00e9" "\U0001F600" [\\]`;
    expect(accepts(g, '"q"\n]Z\u{1F600}é\u{1F600}\\')).toBe(true);
    expect(accepts(g, '"q"\nBa\u{1F600}é\u{1F600}\\')).toBe(false);
  });

  it("reports errors with line and column", () => {
    const cases: [string, number, number, RegExp][] = [
      ['root ::= "abc', 1, 10, /unterminated string/],
      ["root ::= a\nb ::= [a-", 2, 7, /unterminated character class/],
      ['root ::= "a"\n  x ::= "b" | ( "c"', 2, 15, /expected '\)'/],
      ["root ::= undefined-rule", 1, 10, /undefined rule 'undefined-rule'/],
      ['x ::= "a"', 1, 1, /no 'root' rule/],
      ['root ::= "a"{3,2}', 1, 13, /max < min/],
      ['root ::= "a" @', 1, 14, /unexpected character '@'/],
      ['root ::= "\\q"', 1, 11, /unknown escape/],
      ['root ::= "a"\nroot ::= "b"', 2, 1, /defined twice/],
      ["root ::= [z-a]", 1, 13, /out of order/],
      ['root ::= root "a"', 1, 1, /left-recursive/],
      ['root ::= x\nx ::= "a"? root', 1, 1, /left-recursive/],
    ];
    for (const [text, line, column, message] of cases) {
      const e = gbnfError(text);
      expect(e.message, text).toMatch(message);
      expect([e.line, e.column], text).toEqual([line, column]);
      expect(e.message).toContain(`line ${line}, column ${column}`);
    }
  });

  it("accepts right recursion and nullable rules", () => {
    const g = `root ::= list\nlist ::= item ("," list)?\nitem ::= [0-9]+ | "(" list? ")"`;
    expect(accepts(g, "1,(2,(3)),()")).toBe(true);
    expect(accepts(g, "1,,2")).toBe(false);
  });
});

describe("GBNF matching over tokens", () => {
  it("lowers classes to exactly the UTF-8 of their code points (surrogates excluded)", () => {
    const decode = (seq: [number, number][]) => seq.map(([lo]) => lo);
    for (const [lo, hi] of [[0, 0x10ffff], [0x7f, 0x800], [0xd000, 0xe100], [0x10000, 0x10ffff], [0x3b1, 0x3c9]] as const) {
      const seqs = utf8Sequences([[lo, hi]]);
      let count = 0;
      for (const s of seqs) count += s.reduce((n, [a, b]) => n * (b - a + 1), 1);
      const surrogates = Math.max(0, Math.min(hi, 0xdfff) - Math.max(lo, 0xd800) + 1);
      expect(count).toBe(hi - lo + 1 - surrogates);
      for (const s of seqs) expect(new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(decode(s))).length).toBeGreaterThan(0);
    }
  });

  it("masks tokens that span grammar elements and split characters", () => {
    const pieces = ['{"', '":', '"a', "b", "}", "é", "\xc3", "\xa9", "日本", "\u65e5", '"', ":", "{"].map((s) =>
      s.length === 1 && s.charCodeAt(0) >= 0x80 && s.charCodeAt(0) < 0x100 ? Uint8Array.of(s.charCodeAt(0)) : enc.encode(s),
    );
    const vocab = new TokenVocab([...pieces, new Uint8Array(0)], { eogTokens: [pieces.length] });
    const g = compileGbnf(`root ::= "{" "\\"" key "\\":" [^a-z"}]+ "}"\nkey ::= "a" "b"?`);
    const m = new GrammarMatcher(g, vocab);
    const text = () => maskIds(m.allowedTokens()).map((i) => new TextDecoder().decode(vocab.tokens[i]!));
    expect(text()).toEqual(['{"', "{"]);
    const c = m.clone();
    c.accept(0); // '{"': then only "a" fits, and this vocabulary has no such piece
    expect(maskIds(c.allowedTokens())).toEqual([]);
    m.accept(12);
    expect(text()).toEqual(['"a', '"']);
    m.accept(2);
    expect(text()).toEqual(['":', "b", '"']);
    m.accept(1);
    expect(maskIds(m.allowedTokens())).toEqual([5, 6, 8, 9, 11, 12]); // é, its first byte alone, 日本, 日, :, {; not the lone continuation byte
    m.accept(6); // half of é
    expect(maskIds(m.allowedTokens())).toEqual([7]);
    m.accept(7);
    expect(m.isComplete()).toBe(false);
    m.accept(4);
    expect(m.isComplete()).toBe(true);
    expect(maskIds(m.allowedTokens())).toEqual([pieces.length]); // only EOG
    expect(() => m.clone().accept(4)).toThrow(GrammarError);
    m.accept(pieces.length);
    expect(m.hasEnded && m.isDone()).toBe(true);
    expect(new TextDecoder().decode(m.acceptedBytes())).toBe('{"a":é}');
  });

  it("restores from accepted bytes, clones independently, and rejects bad tokens without changing state", () => {
    const g = compileGbnf(`root ::= ("ab" | "ac")+`);
    const m = new GrammarMatcher(g, bytesVocab);
    m.accept(97);
    const c = m.clone();
    c.accept(98);
    expect(() => m.accept(100)).toThrow(/not allowed/);
    expect(m.isComplete()).toBe(false);
    m.accept(99);
    const r = GrammarMatcher.restore(g, bytesVocab, m.acceptedBytes());
    expect(maskIds(r.allowedTokens())).toEqual([97]);
    expect(r.isComplete()).toBe(true);
    expect(new TextDecoder().decode(c.acceptedBytes())).toBe("ab");
    expect(() => GrammarMatcher.restore(g, bytesVocab, enc.encode("ad"))).toThrow(GrammarError);
  });

  it("shares masks across matchers at the same state", () => {
    const g = compileGbnf(`root ::= [a-z]+`);
    const a = new GrammarMatcher(g, bytesVocab);
    const b = new GrammarMatcher(g, bytesVocab);
    a.acceptBytes(enc.encode("abc"));
    b.acceptBytes(enc.encode("zz"));
    expect(a.allowedTokens()).toBe(b.allowedTokens());
  });
});
