// Structured output: OpenAI's response_format (json_object, json_schema) and llama.cpp's grammar / json_schema fields, checked and compiled to GBNF in the Worker.
import { z } from "zod";
import { GrammarError } from "../grammar";
import { checkGbnf, checkedSchemaGbnf } from "../grammar/schema-check";
import { ApiError } from "./errors";

// OpenAI clients send null for "not set" (as openai-fields.ts's opt; not imported: that module imports nothing of this one, and neither way round).
const opt = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);

/**
 * response_format: {"type": "text"} (the default), {"type": "json_object"} (any JSON object), or
 * {"type": "json_schema", "json_schema": {"name", "schema", "strict"?, "description"?}}.
 */
export const responseFormat = opt(
  z.discriminatedUnion("type", [
    z.strictObject({ type: z.literal("text") }),
    z.strictObject({ type: z.literal("json_object") }),
    z.strictObject({
      type: z.literal("json_schema"),
      json_schema: z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "name: letters, digits, _ and -, at most 64 characters"),
        description: opt(z.string()),
        schema: opt(z.record(z.string(), z.unknown())),
        strict: opt(z.boolean()),
      }),
    }),
  ]),
).describe(
  '{"type": "text"} (default), {"type": "json_object"} (the reply is one JSON object) or {"type": "json_schema", "json_schema": {"name", "schema", "strict"}} ' +
    "(the reply matches the schema): decoding is constrained token by token. A reply cut by max_tokens ends with finish_reason \"length\" and may not parse.",
);

/** llama.cpp's fields: GBNF text, and a JSON Schema. */
export const grammarFields = {
  grammar: opt(z.string().min(1)).describe("llama.cpp's GBNF grammar (a root rule): the reply is a sentence of it"),
  json_schema: opt(z.record(z.string(), z.unknown())).describe("llama.cpp's JSON Schema field: the reply is JSON that matches it"),
};

/** The fields a body may constrain its output with. */
export interface StructuredFields {
  readonly response_format?: z.output<typeof responseFormat>;
  readonly grammar?: string;
  readonly json_schema?: Record<string, unknown>;
}

/** Which of the fields a body used (zod cross-field rule: at most one). */
export function structuredRules(b: StructuredFields, ctx: z.RefinementCtx): void {
  const given = [
    b.response_format !== undefined && b.response_format.type !== "text" ? "response_format" : null,
    b.grammar !== undefined ? "grammar" : null,
    b.json_schema !== undefined ? "json_schema" : null,
  ].filter((x) => x !== null);
  if (given.length > 1) ctx.addIssue({ code: "custom", path: [given[1]!], message: `${given[1]} and ${given[0]} both constrain the output; give one` });
}

function schemaGbnf(schema: unknown, param: string): string {
  return checkedSchemaGbnf(schema, param, (message, at) => ApiError.invalid(message, at, "invalid_grammar"));
}

/**
 * The GBNF a request constrains its output with (undefined: none), with the parameter it came from. A grammar that
 * does not compile, or a schema with a feature the compiler does not support, is a 400 (code invalid_grammar) whose
 * param names the field and, for schemas, the JSON pointer of the offending keyword as dotted path.
 */
export function structuredGrammar(b: StructuredFields): { gbnf: string; param: string } | undefined {
  const rf = b.response_format;
  if (rf?.type === "json_object") return { gbnf: schemaGbnf({ type: "json_object" }, "response_format"), param: "response_format" };
  if (rf?.type === "json_schema") {
    const param = "response_format.json_schema.schema";
    return { gbnf: schemaGbnf(rf.json_schema.schema ?? { type: "json_object" }, param), param };
  }
  if (b.json_schema !== undefined) return { gbnf: schemaGbnf(b.json_schema, "json_schema"), param: "json_schema" };
  if (b.grammar !== undefined) {
    try {
      checkGbnf(b.grammar);
    } catch (e) {
      if (!(e instanceof GrammarError)) throw e;
      throw ApiError.invalid(`grammar: ${e.message}`, "grammar", "invalid_grammar");
    }
    return { gbnf: b.grammar, param: "grammar" };
  }
  return undefined;
}
