// A reply under a tool plan as OpenAI's message: tool_calls with fresh ids, and the streaming gate that holds back text that may be a call.
import { callStart, parseToolCalls, type ParsedReply } from "./parse";
import type { ToolPlan } from "./plan";
import { ToolCallScanner, type ScanEvent } from "./stream-scan";

/** OpenAI's tool call in a message. */
export interface OpenAiToolCall {
  readonly id: string;
  readonly type: "function";
  readonly function: { readonly name: string; readonly arguments: string };
}

const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A call id as OpenAI spells them ("call_" and 24 random characters): unique per call. */
export function toolCallId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return "call_" + Array.from(bytes, (b) => ID_CHARS[b % ID_CHARS.length]).join("");
}

export function openAiToolCalls(parsed: ParsedReply): OpenAiToolCall[] {
  return parsed.calls.map((c) => ({ id: toolCallId(), type: "function", function: { name: c.name, arguments: c.arguments } }));
}

/** The calls a finished reply holds (null: it is text) under the plan. */
export function readReply(plan: ToolPlan, text: string): ParsedReply | null {
  return plan.names ? parseToolCalls(plan.format, text, plan.names) : null;
}

/** What a streamed reply sends now: content text, then tool_calls deltas. */
export interface GateOutput {
  readonly content: string;
  readonly deltas: Record<string, unknown>[];
}

/**
 * Streaming under a tool plan. A forced call (a grammar: the text is a well-formed call) streams incrementally: each
 * call's first delta {index, id, type, function: {name, arguments: ""}} as soon as its name is complete, then its
 * arguments text as it is generated. Under "auto", text that cannot be a call streams as content at once; from where a
 * call may begin it is held until the reply ends (a malformed call must end as text, which only the whole reply
 * tells), then sent as calls or, when it does not parse as calls, as content after all.
 */
export class ToolStreamGate {
  private text = "";
  private sent = 0;
  private readonly scanner: ToolCallScanner | null;
  private readonly ids: string[] = [];

  constructor(private readonly plan: ToolPlan) {
    this.scanner = plan.grammar && plan.names ? new ToolCallScanner(plan.format) : null;
  }

  /** New text of the reply → the content and deltas that may be sent now. */
  push(piece: string): GateOutput {
    this.text += piece;
    if (!this.plan.names) return { content: this.flush(this.text.length), deltas: [] };
    if (this.scanner) return { content: "", deltas: this.scanner.push(piece).map((e) => this.delta(e)) };
    const at = callStart(this.plan.format, this.text);
    return { content: this.flush(at < 0 ? this.text.length : Math.max(at, this.sent)), deltas: [] };
  }

  /** The reply ended (`text`: all of it): what is still to send, and whether the reply holds calls (finish_reason "tool_calls"). */
  end(text: string): GateOutput & { called: boolean } {
    this.text = text;
    const parsed = readReply(this.plan, text);
    if (this.scanner && this.ids.length > 0) {
      // Streamed already. A call cut short (max_tokens) keeps the deltas sent; the finish reason then says "length".
      return { content: "", deltas: [], called: parsed !== null };
    }
    if (!parsed) return { content: this.flush(text.length), deltas: [], called: false };
    const before = parsed.content === null ? "" : parsed.content;
    return { content: this.flush(Math.max(this.sent, before.length)), deltas: toolCallDeltas(openAiToolCalls(parsed)), called: true };
  }

  private delta(e: ScanEvent): Record<string, unknown> {
    if (e.kind === "args") return { tool_calls: [{ index: e.call, function: { arguments: e.text } }] };
    this.ids[e.call] = toolCallId();
    return { tool_calls: [{ index: e.call, id: this.ids[e.call], type: "function", function: { name: e.name, arguments: "" } }] };
  }

  private flush(to: number): string {
    const out = this.text.slice(this.sent, to);
    this.sent = Math.max(this.sent, to);
    return out;
  }
}

/**
 * The deltas of finished calls, as OpenAI streams them: per call, first {index, id, type, function: {name, arguments: ""}},
 * then {index, function: {arguments}} with the arguments text.
 */
export function toolCallDeltas(calls: readonly OpenAiToolCall[]): Record<string, unknown>[] {
  return calls.flatMap((c, index) => [
    { tool_calls: [{ index, id: c.id, type: c.type, function: { name: c.function.name, arguments: "" } }] },
    { tool_calls: [{ index, function: { arguments: c.function.arguments } }] },
  ]);
}
