// The tool plan of a request against the served model's chat template (read from the GGUF header in the Worker), with bad tool schemas, and control-token text in what the template renders as its own text, as 400s.
import { ApiError } from "../api/errors";
import type { Env } from "../env";
import { errorBody, modelCard, type ChatMessage } from "../protocol";
import type { Tokenizer } from "../tokenizer/index";
import type { ToolDef } from "./fields";
import { ToolSchemaError } from "./grammar";
import { toolPlanFor, usesTools, type ToolPlan, type ToolRequest } from "./plan";

/** Whether `text` holds the text of a control (or user-defined special) token: parsing specials then changes its tokens. */
function hasSpecialText(tokenizer: Tokenizer, text: string): boolean {
  const plain = tokenizer.encode(text, { addSpecial: false, parseSpecial: false });
  const special = tokenizer.encode(text, { addSpecial: false, parseSpecial: true });
  return plain.length !== special.length || plain.some((t, i) => t !== special[i]);
}

/**
 * A template that knows tools renders the tool definitions and earlier calls as its own text, where special-token text
 * would become control tokens (message contents never do): such text is refused, naming where it is.
 */
function refuseSpecialText(tokenizer: Tokenizer, tools: readonly ToolDef[], messages: readonly ChatMessage[]): void {
  const why = "holds the text of a control token of this model's vocabulary; tool definitions and calls are rendered as the chat template's own text, so they may not";
  tools.forEach((t, i) => {
    if (hasSpecialText(tokenizer, JSON.stringify(t))) throw ApiError.invalid(`tools.${i} ${why}`, `tools.${i}`);
  });
  messages.forEach((m, i) => {
    if (m.tool_calls && hasSpecialText(tokenizer, JSON.stringify(m.tool_calls))) throw ApiError.invalid(`messages.${i}.tool_calls ${why}`, `messages.${i}.tool_calls`);
  });
}

/** The plan (undefined when no tools are involved): the template comes from the model card (cached per model version). */
export async function toolPlan(env: Env, b: ToolRequest): Promise<ToolPlan | undefined> {
  if (!usesTools(b)) return undefined;
  const card = await modelCard(env).catch((e: unknown) => {
    throw new ApiError(errorBody(e));
  });
  let plan: ToolPlan;
  try {
    plan = toolPlanFor(card.chatTemplate, b);
  } catch (e) {
    if (e instanceof ToolSchemaError) throw ApiError.invalid(e.message, e.param, "invalid_grammar");
    throw e;
  }
  // The generic format puts tools and calls in message contents (literal text); the others in the template's text.
  if (plan.format !== "generic") refuseSpecialText(card.tokenizer, b.tools ?? [], b.messages);
  return plan;
}
