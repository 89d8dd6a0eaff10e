// A chat request's tool plan: the template's tool format, the messages and tools the session renders, the grammar of a forced call, and which calls a reply may hold.
import type { ChatMessage, ChatTool } from "../protocol/generate";
import { choiceOf, type ToolChoice, type ToolDef } from "./fields";
import { genericMessages, genericToolsPrompt, toolFormat, type ToolFormat } from "./format";
import { checkToolSchemas, toolCallGbnf } from "./grammar";

/** What a chat body says about tools (after its schema checked it). */
export interface ToolRequest {
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly ToolDef[];
  readonly tool_choice?: "none" | "auto" | "required" | { readonly type: "function"; readonly function: { readonly name: string } };
  readonly parallel_tool_calls?: boolean;
}

export interface ToolPlan {
  readonly format: ToolFormat;
  readonly choice: ToolChoice;
  /** The messages the session renders (for the generic format: calls and results as text, the tools in the system turn). */
  readonly messages: ChatMessage[];
  /**
   * The generic format with tools, for a session (x-session-id): the messages without the tools' description, and that
   * description (a system text) which the session renders in its first request only (src/tools/session-tools.ts).
   */
  readonly session?: { readonly messages: ChatMessage[]; readonly toolsPrompt: string };
  /** Tools for the template's `tools` variable (formats the template knows, unless tool_choice is "none"). */
  readonly tools?: ChatTool[];
  /** Under "required" or a named function: the reply's grammar (param "tool_choice", for errors). */
  readonly grammar?: { readonly gbnf: string; readonly param: string };
  /** The functions a reply may call; null under "none" (a reply is never read as calls). */
  readonly names: ReadonlySet<string> | null;
}

/** True when a request involves tools at all: tools given, or tool calls / results among the messages. */
export function usesTools(b: ToolRequest): boolean {
  return (b.tools?.length ?? 0) > 0 || b.messages.some((m) => m.role === "tool" || (m.tool_calls?.length ?? 0) > 0);
}

/** The plan for a chat template (undefined: the model's template is the plain one). A bad tool schema is a ToolSchemaError. */
export function toolPlanFor(template: string | undefined, b: ToolRequest): ToolPlan {
  const format = toolFormat(template);
  const choice = choiceOf(b);
  const tools = choice === "none" ? [] : (b.tools ?? []);
  checkToolSchemas(b.tools ?? []);
  const parallel = b.parallel_tool_calls === true;
  const messages = format === "generic" ? genericMessages(b.messages, tools, parallel) : [...b.messages];
  const session = format === "generic" && tools.length > 0 ? { messages: genericMessages(b.messages, undefined, parallel), toolsPrompt: genericToolsPrompt(tools, parallel) } : undefined;
  const forced = choice === "required" ? tools : typeof choice === "object" ? tools.filter((t) => t.function.name === choice.name) : [];
  return {
    format,
    choice,
    messages,
    ...(session ? { session } : {}),
    ...(format !== "generic" && tools.length > 0 ? { tools: tools.map((t) => ({ type: "function" as const, function: stripUndefined(t.function) })) } : {}),
    ...(forced.length > 0 ? { grammar: { gbnf: toolCallGbnf(format, forced, parallel), param: "tool_choice" } } : {}),
    names: choice === "none" ? null : new Set(tools.map((t) => t.function.name)),
  };
}

/** A function definition without its unset fields (they would render as "None" or null in a template). */
function stripUndefined(f: ToolDef["function"]): ChatTool["function"] {
  return { name: f.name, ...(f.description !== undefined ? { description: f.description } : {}), ...(f.parameters !== undefined ? { parameters: f.parameters } : {}) };
}
