// The tool plan of a request against the served model's chat template (read from the GGUF header in the Worker), with bad tool schemas as 400s.
import { ApiError } from "../api/errors";
import type { Env } from "../env";
import { errorBody, modelCard } from "../protocol";
import { ToolSchemaError } from "./grammar";
import { toolPlanFor, usesTools, type ToolPlan, type ToolRequest } from "./plan";

/** The plan (undefined when no tools are involved): the template comes from the model card (cached per model version). */
export async function toolPlan(env: Env, b: ToolRequest): Promise<ToolPlan | undefined> {
  if (!usesTools(b)) return undefined;
  const card = await modelCard(env).catch((e: unknown) => {
    throw new ApiError(errorBody(e));
  });
  try {
    return toolPlanFor(card.chatTemplate, b);
  } catch (e) {
    if (e instanceof ToolSchemaError) throw ApiError.invalid(e.message, e.param, "invalid_grammar");
    throw e;
  }
}
