// StopMatcher: output = text before the first occurrence of any stop, for every way of splitting the text into pieces.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { StopMatcher } from "../../src/engine/stop-strings";

/** The definition: the text cut before the earliest start of any stop string. */
function reference(text: string, stops: readonly string[]): { out: string; stopped: boolean } {
  let cut = -1;
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut < 0 ? { out: text, stopped: false } : { out: text.slice(0, cut), stopped: true };
}

/**
 * Streams `pieces` through a matcher, checking the invariants on the way: held-back text never exceeds
 * maxStopLength - 1, every emit is a prefix-extension of the final output, nothing is emitted after a stop.
 */
function run(stops: readonly string[], pieces: readonly string[]): { out: string; stopped: boolean; stoppedByPush: boolean } {
  const m = new StopMatcher(stops);
  const maxLen = Math.max(0, ...stops.map((s) => s.length));
  let pushed = "";
  let out = "";
  let stoppedByPush = false;
  for (const piece of pieces) {
    pushed += piece;
    const r = m.push(piece);
    if (stoppedByPush) expect(r).toEqual({ emit: "", stopped: true });
    out += r.emit;
    if (r.stopped) stoppedByPush = true;
    else expect(pushed.length - out.length).toBeLessThanOrEqual(Math.max(0, maxLen - 1));
    // Emitted text is always a prefix of the pushed text: nothing is reordered or invented.
    expect(pushed.startsWith(out)).toBe(true);
  }
  const tail = m.flush();
  if (stoppedByPush) expect(tail).toBe("");
  out += tail;
  expect(m.flush()).toBe("");
  return { out, stopped: m.stopped, stoppedByPush };
}

/** Every way to split `text` into non-empty consecutive pieces (2^(n-1) of them). */
function* splits(text: string): Generator<string[]> {
  const n = text.length;
  if (n === 0) {
    yield [];
    return;
  }
  for (let mask = 0; mask < 2 ** (n - 1); mask++) {
    const pieces: string[] = [];
    let start = 0;
    for (let i = 1; i < n; i++) {
      if (mask & (1 << (i - 1))) {
        pieces.push(text.slice(start, i));
        start = i;
      }
    }
    pieces.push(text.slice(start));
    yield pieces;
  }
}

function checkAllSplits(text: string, stops: readonly string[]): void {
  const want = reference(text, stops);
  for (const pieces of splits(text)) {
    const got = run(stops, pieces);
    expect({ out: got.out, stopped: got.stopped }, `pieces ${JSON.stringify(pieces)}`).toEqual(want);
  }
}

describe("StopMatcher", () => {
  it("finds a stop at every position, for every split of the text into pieces", () => {
    const base = "hello w";
    for (let i = 0; i <= base.length; i++) {
      // 12 characters: all 2048 splits of each, exhaustively.
      checkAllSplits(base.slice(0, i) + "<|e|>" + base.slice(i), ["<|e|>"]);
      // A stop cut short by the end of the text is held, then released by flush.
      checkAllSplits(base.slice(0, i) + "<|e|", ["<|e|>"]);
    }
  });

  it("handles overlapping stops, stops that are prefixes of others, and stops inside others", () => {
    const cases: [string, string[]][] = [
      ["xaby", ["ab", "b"]],
      ["xby", ["ab", "b"]],
      ["aab", ["ab", "b"]],
      ["zabcz", ["ab", "abc"]],
      ["zabcz", ["abc", "ab"]],
      ["abcd", ["abcd", "bc"]],
      ["abcx", ["abcd", "bc"]],
      ["abc", ["abcd", "bc"]],
      ["aaab", ["aab", "aaab", "b"]],
      ["abababc", ["ababc", "babc"]],
      ["xxaaaay", ["aaa", "aay"]],
      ["no stop here", ["stop!", "xyz"]],
    ];
    for (const [text, stops] of cases) checkAllSplits(text, stops);
    expect(run(["abcd", "bc"], ["abc", "d"]).out).toBe("");
    expect(run(["abcd", "bc"], ["abc", "x"]).out).toBe("a");
  });

  it("cuts at a stop complete before the end when a longer earlier one fails at flush", () => {
    // "bc" is complete but "abcd" could still start at 0: the matcher waits, and the end of text decides.
    const m = new StopMatcher(["abcd", "bc"]);
    expect(m.push("xabc")).toEqual({ emit: "x", stopped: false });
    expect(m.stopped).toBe(false);
    expect(m.flush()).toBe("a");
    expect(m.stopped).toBe(true);
  });

  it("matches multi-byte and emoji stops (UTF-16 surrogate pairs, combining marks)", () => {
    checkAllSplits("ok 👍🏽 done", ["👍🏽"]);
    checkAllSplits("café au lait", ["é a"]);
    checkAllSplits("日本語のテキスト", ["のテ", "語の"]);
    // Pieces of whole characters, as the stream decoder produces them.
    expect(run(["🛑"], ["go ", "go ", "🛑", " never"])).toEqual({ out: "go go ", stopped: true, stoppedByPush: true });
    expect(run(["👍🏽"], ["a👍", "🏿b"]).out).toBe("a👍🏿b");
  });

  it("stops at the very start of the text", () => {
    const m = new StopMatcher(["Hi"]);
    expect(m.push("Hi there")).toEqual({ emit: "", stopped: true });
    expect(m.push("more")).toEqual({ emit: "", stopped: true });
    expect(m.flush()).toBe("");
    checkAllSplits("Hi there", ["Hi", "there"]);
  });

  it("holds back a possible stop prefix and releases it on flush", () => {
    const m = new StopMatcher(["</s>"]);
    expect(m.push("hello <")).toEqual({ emit: "hello ", stopped: false });
    expect(m.push("/")).toEqual({ emit: "", stopped: false });
    expect(m.push("x")).toEqual({ emit: "</x", stopped: false });
    expect(m.push("y </")).toEqual({ emit: "y ", stopped: false });
    expect(m.flush()).toBe("</");
    expect(m.stopped).toBe(false);
  });

  it("emits nothing after a stop", () => {
    const m = new StopMatcher(["STOP"]);
    expect(m.push("abc ST")).toEqual({ emit: "abc ", stopped: false });
    expect(m.push("OP and more text")).toEqual({ emit: "", stopped: true });
    expect(m.push("even more")).toEqual({ emit: "", stopped: true });
    expect(m.flush()).toBe("");
  });

  it("passes text straight through without stops, and handles empty pieces", () => {
    const m = new StopMatcher([]);
    expect(m.push("anything <")).toEqual({ emit: "anything <", stopped: false });
    expect(m.flush()).toBe("");
    const k = new StopMatcher(["xy"]);
    expect(k.push("")).toEqual({ emit: "", stopped: false });
    expect(k.push("ax")).toEqual({ emit: "a", stopped: false });
    expect(k.push("")).toEqual({ emit: "", stopped: false });
    expect(k.push("y")).toEqual({ emit: "", stopped: true });
  });

  it("validates the stop list", () => {
    expect(() => new StopMatcher([""])).toThrow(/stop string 0 is empty/);
    expect(() => new StopMatcher(["ok", ""])).toThrow(/stop string 1 is empty/);
    expect(() => new StopMatcher(Array.from({ length: 17 }, (_, i) => `s${i}`))).toThrow(/at most 16 stop strings/);
    expect(() => new StopMatcher(["x".repeat(257)])).toThrow(/257 characters long; the limit is 256/);
    expect(() => new StopMatcher([3 as unknown as string])).toThrow(TypeError);
    expect(() => new StopMatcher(Array.from({ length: 16 }, (_, i) => "y".repeat(255) + String.fromCharCode(65 + i)))).not.toThrow();
    const m = new StopMatcher(["ab"]);
    m.flush();
    expect(() => m.push("x")).toThrow(/after flush/);
  });

  it("property: emits + flush = text cut at the first occurrence of any stop; held text <= maxStopLength - 1", () => {
    const alphabet = fc.constantFrom("a", "b", "c", "é", "👍");
    const word = (min: number, max: number) => fc.array(alphabet, { minLength: min, maxLength: max }).map((a) => a.join(""));
    fc.assert(
      fc.property(
        fc.array(word(1, 5), { minLength: 1, maxLength: 4 }),
        fc.array(word(0, 6), { maxLength: 10 }),
        (stops, pieces) => {
          const got = run(stops, pieces);
          const want = reference(pieces.join(""), stops);
          expect({ out: got.out, stopped: got.stopped }).toEqual(want);
          if (got.stoppedByPush) expect(want.stopped).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("stops as soon as the cut is certain (no waiting when no longer stop is pending)", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom("a", "b", "c"), { minLength: 1, maxLength: 4 }).map((a) => a.join("")), fc.string({ maxLength: 8 }), (stop, before) => {
        // A single stop: the push that completes it reports stopped.
        const text = before + stop;
        const m = new StopMatcher([stop]);
        let stopped = false;
        for (const ch of text) stopped = m.push(ch).stopped || stopped;
        expect(stopped).toBe(true);
      }),
    );
  });
});
