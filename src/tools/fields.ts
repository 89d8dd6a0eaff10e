// OpenAI's tool-calling request fields (tools, tool_choice, parallel_tool_calls) and their cross-field rules.
import { z } from "zod";

// OpenAI clients send null for "not set" (as openai-fields.ts's opt; not imported: that module imports this one).
const opt = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);

/** Most tools one request may carry (OpenAI's own bound). */
export const MAX_TOOLS = 128;

const functionName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "a function name is 1 to 64 letters, digits, _ or -");

/** One function tool: its parameters are a JSON Schema for an object (absent: a function without arguments). */
export const toolDef = z.strictObject({
  type: z.literal("function"),
  function: z.strictObject({
    name: functionName,
    description: opt(z.string()),
    parameters: opt(z.record(z.string(), z.unknown(), { error: "parameters must be a JSON Schema object" })),
    strict: opt(z.boolean()),
  }),
});

/** A checked tool (what toolDef gives). */
export interface ToolDef {
  readonly type: "function";
  readonly function: { readonly name: string; readonly description?: string; readonly parameters?: Record<string, unknown>; readonly strict?: boolean };
}

/** "none", "auto", "required", or {"type": "function", "function": {"name": ...}}: one named function. */
export const toolChoice = opt(
  z.union([
    z.enum(["none", "auto", "required"]),
    z.strictObject({ type: z.literal("function"), function: z.strictObject({ name: functionName }) }),
  ]),
);

export type ToolChoice = "none" | "auto" | "required" | { readonly name: string };

export const toolFields = {
  tools: opt(z.array(toolDef).max(MAX_TOOLS)).describe(
    "functions the model may call: [{type: \"function\", function: {name, description, parameters}}]; parameters is a JSON Schema for an object (the structured-output subset). The tools are rendered through the model's chat template",
  ),
  tool_choice: toolChoice.describe(
    '"auto" (default with tools: the model answers text or a call), "none" (never a call), "required" (the reply is constrained to a call of one of the tools) or {"type": "function", "function": {"name"}} (a call of that function)',
  ),
  parallel_tool_calls: opt(z.boolean()).describe("true: a constrained reply may hold several calls; default false here: one call per reply"),
};

/** The tool choice a body asks for, with its default: "auto" with tools, "none" without. */
export function choiceOf(b: { tools?: readonly ToolDef[]; tool_choice?: z.output<typeof toolChoice> }): ToolChoice {
  const c = b.tool_choice;
  if (c === undefined) return b.tools?.length ? "auto" : "none";
  return typeof c === "string" ? c : { name: c.function.name };
}

/** Cross-field rules: distinct names, a choice that needs tools has them, a named function is one of them. */
export function toolRules(b: { tools?: readonly ToolDef[]; tool_choice?: z.output<typeof toolChoice> }, ctx: z.RefinementCtx): void {
  const names = (b.tools ?? []).map((t) => t.function.name);
  const dup = names.findIndex((n, i) => names.indexOf(n) !== i);
  if (dup >= 0) ctx.addIssue({ code: "custom", path: ["tools", dup, "function", "name"], message: `two tools are named ${JSON.stringify(names[dup])}` });
  const c = b.tool_choice;
  if (c === undefined || c === "none" || c === "auto") return;
  if (names.length === 0) {
    ctx.addIssue({ code: "custom", path: ["tool_choice"], message: `tool_choice ${typeof c === "string" ? JSON.stringify(c) : "naming a function"} needs tools` });
    return;
  }
  if (typeof c !== "string" && !names.includes(c.function.name)) {
    ctx.addIssue({ code: "custom", path: ["tool_choice", "function", "name"], message: `no tool is named ${JSON.stringify(c.function.name)} (tools: ${names.join(", ")})` });
  }
}
