// Reading tool calls out of a reply in the template's format; a reply that is not a well-formed call of a known tool stays text.
import type { ToolFormat } from "./format";
import { scanCalls } from "./stream-scan";

/** A call read from the reply: the function's name and its arguments as JSON text (an object). */
export interface ParsedCall {
  readonly name: string;
  readonly arguments: string;
}

/** The reply as a message: the text before the calls (null when only whitespace) and the calls (at least one). */
export interface ParsedReply {
  readonly content: string | null;
  readonly calls: readonly ParsedCall[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function json(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** {"name": <known tool>, <key>: {…}} (the arguments may also come as JSON text of an object); anything else: null. */
function call(v: unknown, names: ReadonlySet<string>, keys: readonly string[]): ParsedCall | null {
  if (!isObject(v) || typeof v.name !== "string" || !names.has(v.name)) return null;
  const key = keys.find((k) => k in v);
  if (key === undefined || Object.keys(v).some((k) => k !== "name" && k !== key)) return null;
  const args = typeof v[key] === "string" ? json(v[key]) : v[key];
  return isObject(args) ? { name: v.name, arguments: JSON.stringify(args) } : null;
}

const OPEN = "<tool_call>";
const CLOSE = "</tool_call>";

/** `<tool_call>{json}</tool_call>` blocks after optional text; the last block may lack its closing tag (the reply ended). */
function hermes(text: string, names: ReadonlySet<string>): ParsedReply | null {
  const first = text.indexOf(OPEN);
  if (first < 0) return null;
  const calls: ParsedCall[] = [];
  let at = first;
  while (at < text.length) {
    if (!text.startsWith(OPEN, at)) return null;
    const end = text.indexOf(CLOSE, at);
    const c = call(json(text.slice(at + OPEN.length, end < 0 ? text.length : end).trim()), names, ["arguments", "parameters"]);
    if (!c) return null;
    calls.push(c);
    if (end < 0) break;
    at = end + CLOSE.length;
    while (at < text.length && /\s/.test(text[at]!)) at++;
  }
  const before = text.slice(0, first);
  return { content: before.trim() ? before : null, calls };
}

/** One JSON object {"name", "parameters"} (or "arguments"), optionally after <|python_tag|>. */
function llama3(text: string, names: ReadonlySet<string>): ParsedReply | null {
  let t = text.trim();
  if (t.startsWith("<|python_tag|>")) t = t.slice("<|python_tag|>".length).trim();
  const c = call(json(t), names, ["parameters", "arguments"]);
  return c ? { content: null, calls: [c] } : null;
}

/** {"tool_call": {…}} or {"tool_calls": [{…}, …]}. */
function generic(text: string, names: ReadonlySet<string>): ParsedReply | null {
  const v = json(text.trim());
  if (!isObject(v) || Object.keys(v).length !== 1) return null;
  const keys = ["arguments", "parameters"];
  if ("tool_call" in v) {
    const c = call(v.tool_call, names, keys);
    return c ? { content: null, calls: [c] } : null;
  }
  if (!Array.isArray(v.tool_calls) || v.tool_calls.length === 0) return null;
  const calls = v.tool_calls.map((x) => call(x, names, keys));
  return calls.every((c) => c !== null) ? { content: null, calls: calls as ParsedCall[] } : null;
}

/**
 * The calls a reply holds in `format`, of the tools named in `names`; null when it holds none or is not well formed.
 * Each call's arguments are the model's own JSON text of the arguments object (what streaming sends, fragment by
 * fragment); an arguments value given as a JSON string (no streaming of it) is re-serialised.
 */
export function parseToolCalls(format: ToolFormat, text: string, names: ReadonlySet<string>): ParsedReply | null {
  const parsed = format === "hermes" ? hermes(text, names) : format === "llama3" ? llama3(text, names) : generic(text, names);
  return parsed && withModelArguments(format, text, parsed);
}

/** The parsed calls with their arguments as the model wrote them (the scanner's text, when it is the same JSON). */
function withModelArguments(format: ToolFormat, text: string, parsed: ParsedReply): ParsedReply {
  const scanned = scanCalls(format, text);
  if (scanned.length !== parsed.calls.length) return parsed;
  const same = (raw: string, canonical: string) => {
    const v = json(raw);
    return v !== undefined && JSON.stringify(v) === canonical;
  };
  return { ...parsed, calls: parsed.calls.map((c, i) => (scanned[i]?.name === c.name && same(scanned[i]!.arguments, c.arguments) ? { name: c.name, arguments: scanned[i]!.arguments } : c)) };
}

/**
 * Where a call may begin in text generated so far (streaming under tool_choice "auto": text from here is held back until
 * the reply ends and is parsed): hermes anywhere its `<tool_call>` tag (or a prefix of it at the end) appears; the
 * JSON formats only at the start (the first non-blank character is `{`, or <|python_tag|>; leading blanks are held
 * with it). -1: none so far.
 */
export function callStart(format: ToolFormat, text: string): number {
  if (format === "hermes") {
    const at = text.indexOf(OPEN);
    if (at >= 0) return at;
    for (let k = Math.min(OPEN.length - 1, text.length); k > 0; k--) if (OPEN.startsWith(text.slice(text.length - k))) return text.length - k;
    return -1;
  }
  const lead = text.length - text.trimStart().length;
  const rest = text.slice(lead);
  if (rest === "") return 0; // only blanks so far: undecided
  const tag = "<|python_tag|>";
  const may = rest.startsWith("{") || (format === "llama3" && (rest.startsWith(tag) || tag.startsWith(rest)));
  return may ? 0 : -1;
}
