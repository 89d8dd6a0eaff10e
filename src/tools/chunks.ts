// OpenAI's chat shapes of tool calls: a finished choice's message, and the stream's tool_calls deltas.
import type { ToolPlan } from "./plan";
import { openAiToolCalls, readReply, ToolStreamGate } from "./reply";

export { toolCallDeltas } from "./reply";

/** A non-streamed chat choice with the calls its reply holds: content null (or the text before the calls), tool_calls, finish_reason "tool_calls". */
export function withToolCalls(choice: Record<string, unknown>, plan: ToolPlan | undefined, text: string): Record<string, unknown> {
  if (!plan) return choice;
  const parsed = readReply(plan, text);
  if (!parsed) return choice;
  return { ...choice, message: { role: "assistant", content: parsed.content, tool_calls: openAiToolCalls(parsed) }, finish_reason: "tool_calls" };
}

/** One gate per choice of a streamed request under a plan (none without one). */
export function streamGates(plan: ToolPlan | undefined, n: number): ToolStreamGate[] | undefined {
  return plan ? Array.from({ length: n }, () => new ToolStreamGate(plan)) : undefined;
}
