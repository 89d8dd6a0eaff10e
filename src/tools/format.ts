// Which tool-call format a chat template speaks, and the generic fallback for templates without one: tools described in a system turn, calls and results as JSON text.
import type { ChatMessage } from "../protocol/generate";
import type { ToolDef } from "./fields";

/**
 * "hermes": `<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>` (Hermes 2 Pro, Qwen 2.5, SmolLM3…; the template
 * mentions `<tool_call>`). "llama3": `{"name": …, "parameters": {…}}` (Llama 3.1+ templates, which have an `ipython`
 * turn). "generic": any other template, or none: `{"tool_call": {"name": …, "arguments": {…}}}` (or `"tool_calls": […]`),
 * taught by a system turn, since the template knows nothing of tools.
 */
export type ToolFormat = "hermes" | "llama3" | "generic";

export function toolFormat(template: string | undefined): ToolFormat {
  if (template === undefined) return "generic";
  if (template.includes("<tool_call>")) return "hermes";
  if (template.includes("<|start_header_id|>") && template.includes("ipython")) return "llama3";
  return "generic";
}

/** The system text that teaches the generic format: the functions (name, description, parameters) and the reply shape. */
export function genericToolsPrompt(tools: readonly ToolDef[], parallel: boolean): string {
  const list = tools.map((t) => ({ name: t.function.name, ...(t.function.description ? { description: t.function.description } : {}), parameters: t.function.parameters ?? { type: "object", properties: {} } }));
  const shape = parallel ? '{"tool_calls": [{"name": <name>, "arguments": <object>}, ...]}' : '{"tool_call": {"name": <name>, "arguments": <object>}}';
  // Compact: small models have small contexts.
  return `Functions you can call: ${JSON.stringify(list)}\nTo call one, reply with only ${shape}`;
}

/** Arguments text as an object (text that is not a JSON object stays as it is). */
function argumentsValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Messages for a template that knows nothing of tools: an assistant turn's calls become its text (the JSON the format
 * replies with), a tool result becomes a user turn `{"tool_response": {"name", "content"}}` (many templates accept
 * only system/user/assistant), and the tools are described at the end of the system turn (one is added when absent).
 */
export function genericMessages(messages: readonly ChatMessage[], tools: readonly ToolDef[] | undefined, parallel: boolean): ChatMessage[] {
  const callNames = new Map<string, string>();
  const out: ChatMessage[] = messages.map((m): ChatMessage => {
    if (m.role === "assistant" && m.tool_calls?.length) {
      for (const c of m.tool_calls) callNames.set(c.id, c.function.name);
      const calls = m.tool_calls.map((c) => ({ name: c.function.name, arguments: argumentsValue(c.function.arguments) }));
      const json = JSON.stringify(calls.length === 1 ? { tool_call: calls[0] } : { tool_calls: calls });
      return { role: "assistant", content: m.content ? `${m.content}\n${json}` : json };
    }
    if (m.role === "tool") {
      const name = m.name ?? (m.tool_call_id !== undefined ? callNames.get(m.tool_call_id) : undefined);
      return { role: "user", content: JSON.stringify({ tool_response: { ...(name !== undefined ? { name } : {}), content: m.content } }) };
    }
    return { role: m.role, content: m.content };
  });
  return tools?.length ? withToolsPrompt(out, genericToolsPrompt(tools, parallel)) : out;
}

/** The tools' description at the end of the system turn (one is added when absent). Changes `messages` and returns it. */
export function withToolsPrompt(messages: ChatMessage[], prompt: string): ChatMessage[] {
  const first = messages[0];
  if (first?.role === "system") messages[0] = { role: "system", content: `${first.content}\n\n${prompt}` };
  else messages.unshift({ role: "system", content: prompt });
  return messages;
}
