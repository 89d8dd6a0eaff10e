// Streaming stop-string detection: holds back text that could still begin a stop string, cuts at the first occurrence.

const MAX_STOPS = 16;
const MAX_STOP_LENGTH = 256;

/** One stop string with its KMP automaton; `state` = length of the longest suffix of the text so far that is a proper prefix of it. */
interface Pattern {
  readonly units: Uint16Array;
  /** KMP failure function: fail[j] = length of the longest proper border of the first j units. */
  readonly fail: Int32Array;
  state: number;
  /** Absolute start of this string's first complete occurrence, or -1. */
  first: number;
}

function compile(stop: string): Pattern {
  const m = stop.length;
  const units = new Uint16Array(m);
  for (let i = 0; i < m; i++) units[i] = stop.charCodeAt(i);
  const fail = new Int32Array(m + 1);
  for (let j = 1, k = 0; j < m; j++) {
    while (k > 0 && units[j] !== units[k]) k = fail[k]!;
    if (units[j] === units[k]) k++;
    fail[j + 1] = k;
  }
  return { units, fail, state: 0, first: -1 };
}

/**
 * Streaming stop-string detection: text is pushed piece by piece; text that could still be the start of a stop
 * string is held back and never leaked.
 *
 * Semantics (OpenAI's "the returned text will not contain the stop sequence"): the output is the whole text cut
 * before the first occurrence of any stop string, i.e. at min over stops s of text.indexOf(s). The result does not
 * depend on how the text is split into pieces. A stop is reported as soon as that cut is certain: a complete stop
 * is normally final at once, but when a longer stop that starts earlier is still possible (stops "abcd" and "bc"
 * after "abc"), the matcher waits for the next piece to decide. So at most maxStopLength - 1 UTF-16 code units are
 * ever held back. Matching is by UTF-16 code units, which for well-formed text is matching by characters.
 */
export class StopMatcher {
  private readonly patterns: Pattern[];
  /** Unemitted text, starting at absolute offset `heldStart`; `pos` = total length pushed so far. */
  private held = "";
  private heldStart = 0;
  private pos = 0;
  private done = false;
  private flushed = false;

  constructor(stops: readonly string[]) {
    if (!Array.isArray(stops)) throw new TypeError("stop strings must be an array of strings");
    if (stops.length > MAX_STOPS) throw new Error(`at most ${MAX_STOPS} stop strings are allowed, got ${stops.length}`);
    for (const [i, s] of stops.entries()) {
      if (typeof s !== "string") throw new TypeError(`stop string ${i} must be a string, got ${typeof s}`);
      if (s.length === 0) throw new Error(`stop string ${i} is empty; stop strings must be 1 to ${MAX_STOP_LENGTH} characters`);
      if (s.length > MAX_STOP_LENGTH) throw new Error(`stop string ${i} is ${s.length} characters long; the limit is ${MAX_STOP_LENGTH}`);
    }
    this.patterns = stops.map(compile);
  }

  /** True once a stop string has been found (by push() or, when a decision was pending at the end, by flush()). */
  get stopped(): boolean {
    return this.done;
  }

  /**
   * Feeds newly generated text. Returns the text that is now safe to send; when a stop string completes, `emit` is
   * the text before it, `stopped` is true, and everything from the stop string on is dropped (later pushes emit nothing).
   */
  push(text: string): { emit: string; stopped: boolean } {
    if (this.flushed) throw new Error("StopMatcher.push() called after flush()");
    if (this.done) return { emit: "", stopped: true };
    if (this.patterns.length === 0) return { emit: text, stopped: false };

    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      const end = this.pos + i + 1; // absolute end of the text seen so far
      for (const p of this.patterns) {
        let k = p.state;
        while (k > 0 && p.units[k] !== c) k = p.fail[k]!;
        if (p.units[k] === c) k++;
        if (k === p.units.length) {
          if (p.first < 0) p.first = end - k;
          k = p.fail[k]!;
        }
        p.state = k;
      }
    }
    this.pos += text.length;
    const buffer = this.held + text;

    const cut = this.firstMatch();
    const live = this.earliestLive();
    if (cut >= 0 && (live < 0 || cut <= live)) {
      // No stop that could still complete starts before `cut`, so no later text can move the cut earlier.
      this.done = true;
      this.held = "";
      return { emit: buffer.slice(0, cut - this.heldStart), stopped: true };
    }
    // Hold from the earliest start that is still a possible (or, before `cut`, a complete but not yet final) stop.
    const keepFrom = live < 0 ? this.pos : live;
    const emit = buffer.slice(0, keepFrom - this.heldStart);
    this.held = buffer.slice(keepFrom - this.heldStart);
    this.heldStart = keepFrom;
    return { emit, stopped: false };
  }

  /** End of generation: returns the held-back text (cut at a stop that was complete but waiting on a longer one). */
  flush(): string {
    if (this.flushed) return "";
    this.flushed = true;
    if (this.done) return "";
    const cut = this.firstMatch();
    const out = cut >= 0 ? this.held.slice(0, cut - this.heldStart) : this.held;
    if (cut >= 0) this.done = true;
    this.held = "";
    return out;
  }

  /** Absolute start of the earliest complete occurrence of any stop, or -1. */
  private firstMatch(): number {
    let best = -1;
    for (const p of this.patterns) if (p.first >= 0 && (best < 0 || p.first < best)) best = p.first;
    return best;
  }

  /** Absolute start of the earliest suffix of the text that is a proper prefix of some stop, or -1. */
  private earliestLive(): number {
    let best = -1;
    for (const p of this.patterns) {
      if (p.state > 0 && (best < 0 || this.pos - p.state < best)) best = this.pos - p.state;
    }
    return best;
  }
}
