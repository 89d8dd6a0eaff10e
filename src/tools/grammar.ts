// The grammar of a constrained tool call: the format's wrapper text around a JSON object naming one of the tools, whose arguments follow that tool's parameters schema.
import { jsonSchemaToGbnf } from "../grammar";
import { checkedSchemaGbnf } from "../grammar/schema-check";
import { gbnfLit } from "../grammar/gbnf-text";
import type { ToolDef } from "./fields";
import type { ToolFormat } from "./format";

/** A tool whose parameters cannot constrain a reply: the Worker answers it as a 400 (code invalid_grammar) naming `param`. */
export class ToolSchemaError extends Error {
  override readonly name = "ToolSchemaError";
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

/** The arguments schema of a tool: its parameters (`{}` or no type: an object), or an empty object for a function without any. */
export function parametersOf(t: ToolDef): Record<string, unknown> {
  const p = t.function.parameters;
  if (p === undefined || Object.keys(p).length === 0) return { type: "object", properties: {} };
  return "type" in p ? p : { type: "object", ...p };
}

/** The key a format puts the arguments under (Llama 3.x says "parameters"). */
export const argumentsKey = (format: ToolFormat): "arguments" | "parameters" => (format === "llama3" ? "parameters" : "arguments");

/**
 * Checks every tool's parameters: a JSON Schema of an object that the structured-output compiler supports. A bad one
 * is a ToolSchemaError naming `tools.<i>.function.parameters` and the offending keyword's path.
 */
export function checkToolSchemas(tools: readonly ToolDef[]): void {
  tools.forEach((t, i) => {
    const param = `tools.${i}.function.parameters`;
    const p = parametersOf(t);
    if (p.type !== "object") throw new ToolSchemaError(`${param}: the parameters of a function are an object schema ({"type": "object", ...}), got type ${JSON.stringify(p.type ?? null)}`, `${param}.type`);
    checkedSchemaGbnf(p, param, (message, at) => new ToolSchemaError(message, at));
  });
}

/**
 * GBNF text with every rule name prefixed (rules of several compiled schemas then live in one grammar). Names are the
 * word runs outside "literals", [classes], {counts} and # comments.
 */
export function prefixRules(gbnf: string, prefix: string): string {
  let out = "";
  for (let i = 0; i < gbnf.length; ) {
    const c = gbnf[i]!;
    const close = c === '"' ? '"' : c === "[" ? "]" : c === "{" ? "}" : c === "#" ? "\n" : null;
    if (close) {
      let j = i + 1;
      while (j < gbnf.length && gbnf[j] !== close) j += gbnf[j] === "\\" && close !== "\n" ? 2 : 1;
      out += gbnf.slice(i, j + 1);
      i = j + 1;
    } else if (/[A-Za-z0-9_-]/.test(c)) {
      let j = i;
      while (j < gbnf.length && /[A-Za-z0-9_-]/.test(gbnf[j]!)) j++;
      out += prefix + gbnf.slice(i, j);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** One tool's call object: {"name": <its name>, <arguments key>: <its parameters>}, with the parameters' $defs at the top (local $refs keep resolving). */
function callSchema(t: ToolDef, format: ToolFormat): Record<string, unknown> {
  const { $defs, definitions, ...params } = parametersOf(t);
  const key = argumentsKey(format);
  return {
    type: "object",
    properties: { name: { const: t.function.name }, [key]: params },
    required: ["name", key],
    ...($defs !== undefined ? { $defs } : {}),
    ...(definitions !== undefined ? { definitions } : {}),
  };
}

/**
 * The GBNF a reply is constrained to under tool_choice "required" (any of `tools`) or a named function (`tools` is
 * then that one): one call in the format's text, or with `parallel` one or more (Llama 3.x has no parallel form: one).
 */
export function toolCallGbnf(format: ToolFormat, tools: readonly ToolDef[], parallel: boolean): string {
  const parts = tools.map((t, i) => prefixRules(jsonSchemaToGbnf(callSchema(t, format)), `t${i}-`));
  const call = `call ::= ${tools.map((_, i) => `t${i}-root`).join(" | ")}`;
  let root: string;
  if (format === "hermes") {
    const one = `${gbnfLit("<tool_call>\n")} call ${gbnfLit("\n</tool_call>")}`;
    root = parallel ? `root ::= one (${gbnfLit("\n")} one)*\none ::= ${one}` : `root ::= ${one}`;
  } else if (format === "llama3") root = "root ::= call";
  else root = parallel ? `root ::= ${gbnfLit('{"tool_calls": [')} call (${gbnfLit(", ")} call)* ${gbnfLit("]}")}` : `root ::= ${gbnfLit('{"tool_call": ')} call ${gbnfLit("}")}`;
  return [root, call, ...parts].join("\n");
}
