// A reply under a tool plan as OpenAI's message: tool_calls with fresh ids, and the streaming gate that holds back text that may be a call.
import { callStart, parseToolCalls, type ParsedReply } from "./parse";
import type { ToolPlan } from "./plan";

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

/**
 * Streaming under a tool plan: text that cannot be a call streams as content at once; from where a call may begin, text
 * is held until the reply ends (a forced call holds everything). The held text is then either calls (sent as
 * tool_calls deltas) or, when it does not parse as calls, content after all.
 */
export class ToolStreamGate {
  private text = "";
  private sent = 0;

  constructor(private readonly plan: ToolPlan) {}

  /** New text of the reply → the content that may be sent now. */
  push(piece: string): string {
    this.text += piece;
    if (!this.plan.names) return this.flush(this.text.length);
    if (this.plan.grammar) return "";
    const at = callStart(this.plan.format, this.text);
    return this.flush(at < 0 ? this.text.length : Math.max(at, this.sent));
  }

  /** The reply ended (`text`: all of it): the content still to send and the calls it holds (none: text). */
  end(text: string): { content: string; calls: OpenAiToolCall[] } {
    this.text = text;
    const parsed = readReply(this.plan, text);
    if (!parsed) return { content: this.flush(text.length), calls: [] };
    const before = parsed.content === null ? "" : parsed.content;
    return { content: this.flush(Math.max(this.sent, before.length)), calls: openAiToolCalls(parsed) };
  }

  private flush(to: number): string {
    const out = this.text.slice(this.sent, to);
    this.sent = Math.max(this.sent, to);
    return out;
  }
}
