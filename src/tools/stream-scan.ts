// Incremental reading of tool calls out of text as it is generated: each call's name as soon as it is complete, then its arguments' JSON text fragment by fragment, exactly the model's bytes.
import type { ToolFormat } from "./format";

/** A call's name (once complete), or more of its arguments' JSON text (after its name). `call` counts calls from 0. */
export type ScanEvent = { readonly kind: "name"; readonly call: number; readonly name: string } | { readonly kind: "args"; readonly call: number; readonly text: string };

/** One open JSON container; for objects, the key whose value comes next and whether its ':' was seen. */
interface Frame {
  readonly array: boolean;
  key: string | null;
  afterColon: boolean;
  /** This object is a call: {"name": …, "arguments" | "parameters": {…}}. */
  readonly call: number | null;
}

interface CallState {
  name: string | null;
  /** Arguments text read before the name was (held until the name is sent). */
  pending: string;
}

const OPEN = "<tool_call>";
const PYTHON_TAG = "<|python_tag|>";
const ARG_KEYS = new Set(["arguments", "parameters"]);
const BLANK = /\s/;

/**
 * A character-level scanner of the format's call text: outside a call (Hermes: up to each `<tool_call>` tag; the JSON
 * formats: the reply's first object) and inside one, a JSON depth and string-state tracker that knows the call
 * object's keys. The arguments' text runs from the `{` of the arguments object to its matching `}`, whitespace
 * included; the concatenation of a call's "args" events is that text, however the input is split. It reads
 * well-formed text (a grammar-constrained reply); other text just yields fewer events (a string-valued arguments
 * field yields none).
 */
export class ToolCallScanner {
  private mode: "outside" | "json" | "done" = "outside";
  /** Outside a call: the text since the last call (Hermes looks for its tag there; the JSON formats for a first "{"). */
  private outside = "";
  private stack: Frame[] = [];
  private inString = false;
  private escaped = false;
  private str = "";
  private calls: CallState[] = [];
  /** Depth of the arguments object being captured (its frame's stack length), with its call; null: none. */
  private capture: { depth: number; call: number } | null = null;
  private events: ScanEvent[] = [];

  constructor(private readonly format: ToolFormat) {}

  /** Calls seen so far (their names may still be incomplete). */
  get callCount(): number {
    return this.calls.length;
  }

  /** More generated text → the events it completes (args text coalesced per call). */
  push(text: string): ScanEvent[] {
    for (const c of text) this.char(c);
    const out: ScanEvent[] = [];
    for (const e of this.events.splice(0)) {
      const last = out.at(-1);
      if (e.kind === "args" && last?.kind === "args" && last.call === e.call) out[out.length - 1] = { ...last, text: last.text + e.text };
      else out.push(e);
    }
    return out;
  }

  private char(c: string): void {
    if (this.mode === "done") return;
    if (this.mode === "outside") return this.outsideChar(c);
    if (this.capture) this.args(c);
    if (this.inString) return this.stringChar(c);
    if (BLANK.test(c)) return;
    const top = this.stack.at(-1);
    if (c === '"') {
      this.inString = true;
      this.str = "";
    } else if (c === "{" || c === "[") {
      const call = c === "{" && this.isCallPosition() ? this.calls.push({ name: null, pending: "" }) - 1 : null;
      if (c === "{" && !this.capture && top?.call != null && top.afterColon && top.key !== null && ARG_KEYS.has(top.key)) {
        this.capture = { depth: this.stack.length + 1, call: top.call };
        this.args(c);
      }
      this.stack.push({ array: c === "[", key: null, afterColon: false, call });
    } else if (c === "}" || c === "]") {
      this.stack.pop();
      if (this.capture && this.stack.length < this.capture.depth) this.capture = null;
      if (this.stack.length === 0) this.endValue();
    } else if (c === ":" && top && !top.array) top.afterColon = true;
    else if (c === "," && top && !top.array) {
      top.key = null;
      top.afterColon = false;
    }
  }

  private stringChar(c: string): void {
    if (this.escaped) {
      this.escaped = false;
      this.str += c;
      return;
    }
    if (c === "\\") {
      this.escaped = true;
      return;
    }
    if (c !== '"') {
      this.str += c;
      return;
    }
    this.inString = false;
    const top = this.stack.at(-1);
    if (!top || top.array) return;
    if (!top.afterColon) top.key = this.str;
    else if (top.call !== null && top.key === "name") this.named(top.call, this.str);
  }

  /** Where an object opening now is a call: the top-level object (Hermes, Llama 3), or generic's tool_call value / tool_calls item. */
  private isCallPosition(): boolean {
    const s = this.stack;
    if (this.format !== "generic") return s.length === 0;
    if (s.length === 1) return !s[0]!.array && s[0]!.afterColon && s[0]!.key === "tool_call";
    return s.length === 2 && s[1]!.array && !s[0]!.array && s[0]!.key === "tool_calls";
  }

  private outsideChar(c: string): void {
    this.outside += c;
    if (this.format === "hermes") {
      if (this.outside.endsWith(OPEN)) this.enterJson("");
      return;
    }
    const rest = this.outside.trimStart();
    if (rest === "") return;
    if (this.format === "llama3" && PYTHON_TAG.startsWith(rest)) return; // the tag, or a prefix of it
    const body = this.format === "llama3" && rest.startsWith(PYTHON_TAG) ? rest.slice(PYTHON_TAG.length).trimStart() : rest;
    if (body === "") return;
    if (body === "{") this.enterJson("{");
    else this.mode = "done"; // the JSON formats' call is the reply's first object: anything else is text
  }

  private enterJson(first: string): void {
    this.mode = "json";
    this.outside = "";
    this.stack = [];
    for (const c of first) this.char(c);
  }

  /** A top-level JSON value ended: Hermes looks for its next tag; the JSON formats hold one value. */
  private endValue(): void {
    this.mode = this.format === "hermes" ? "outside" : "done";
  }

  private named(call: number, name: string): void {
    const s = this.calls[call]!;
    if (s.name !== null) return;
    s.name = name;
    this.events.push({ kind: "name", call, name });
    if (s.pending) this.events.push({ kind: "args", call, text: s.pending });
    s.pending = "";
  }

  private args(c: string): void {
    const call = this.capture!.call;
    const s = this.calls[call]!;
    if (s.name === null) s.pending += c;
    else this.events.push({ kind: "args", call, text: c });
  }
}

/** Each call's arguments text as the scanner reads it from the whole text (names and texts by call). */
export function scanCalls(format: ToolFormat, text: string): { name: string | null; arguments: string }[] {
  const scanner = new ToolCallScanner(format);
  const out: { name: string | null; arguments: string }[] = [];
  for (const e of scanner.push(text)) {
    if (e.kind === "name") out[e.call] = { name: e.name, arguments: "" };
    else out[e.call]!.arguments += e.text;
  }
  return out;
}
