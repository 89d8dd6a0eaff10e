// JSON Schema → GBNF (then the rule graph): the subset OpenAI-style structured output uses, anything else a GrammarError.
import { schemaError } from "./errors";
import { gbnfLit } from "./gbnf-text";
import { intRange, numberRange } from "./json-numbers";
import { FORMATS, PRIMITIVES } from "./json-rules";
import { patternToGbnf } from "./regex";
import { compileGbnf, Grammar } from "./matcher";

type Schema = Record<string, unknown> | boolean;
type Path = (string | number)[];

/** Keywords that never change the language: accepted and ignored. */
const ANNOTATIONS = new Set(["title", "description", "default", "examples", "$schema", "$id", "$comment", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"]);
const KNOWN = new Set([...ANNOTATIONS, "type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "uniqueItems"]);
const TYPE_OF_KEYWORD: Record<string, string> = {
  properties: "object", required: "object", additionalProperties: "object",
  items: "array", minItems: "array", maxItems: "array", uniqueItems: "array",
  minLength: "string", maxLength: "string", pattern: "string", format: "string",
  minimum: "number", maximum: "number", exclusiveMinimum: "number", exclusiveMaximum: "number",
};
const TYPES = new Set(["object", "array", "string", "number", "integer", "boolean", "null"]);

export interface JsonSchemaOptions {
  /** Ignore keywords this compiler does not know (default false: they are GrammarErrors, so nothing is silently unenforced). */
  readonly ignoreUnknownKeywords?: boolean;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v >= 0;

/** Compiles a JSON Schema (or OpenAI's `{type: "json_object"}`) into GBNF text. */
export function jsonSchemaToGbnf(schema: unknown, options: JsonSchemaOptions = {}): string {
  const rules = new Map<string, string>();
  const byBody = new Map<string, string>();
  const refs = new Map<string, string>();
  const root = schema as Schema;

  const usePrimitive = (name: string): string => {
    if (!rules.has(name)) {
      rules.set(name, PRIMITIVES[name]!.body);
      for (const d of PRIMITIVES[name]!.deps) usePrimitive(d);
    }
    return name;
  };
  /** A named rule for `body` (deduplicated by body), so expressions stay small and shared. */
  const rule = (hint: string, body: string): string => {
    const have = byBody.get(body);
    if (have) return have;
    const base = hint.replace(/[^A-Za-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "r";
    let name = base;
    for (let i = 1; rules.has(name) || name in PRIMITIVES || name === "root"; i++) name = `${base}-${i}`;
    rules.set(name, body);
    byBody.set(body, name);
    return name;
  };
  const literal = (v: unknown): string => `${gbnfLit(JSON.stringify(v))} ${usePrimitive("space")}`;

  const lookup = (ref: string, path: Path): { target: unknown; parts: string[] } => {
    if (!ref.startsWith("#")) throw schemaError(path, "$ref", `only local $ref ("#...") is supported, not ${JSON.stringify(ref)}`);
    let target: unknown = root;
    const parts = ref === "#" ? [] : ref.slice(ref.startsWith("#/") ? 2 : 1).split("/").map((p) => decodeURIComponent(p).replace(/~1/g, "/").replace(/~0/g, "~"));
    for (const p of parts) {
      target = isObj(target) || Array.isArray(target) ? (target as Record<string, unknown>)[p] : undefined;
      if (target === undefined) throw schemaError(path, "$ref", `$ref ${JSON.stringify(ref)} does not resolve`);
    }
    return { target, parts };
  };
  const resolveRef = (ref: string, path: Path): string => {
    const have = refs.get(ref);
    if (have) return have;
    const { target, parts } = lookup(ref, path);
    // A chain of bare $refs that comes back to itself describes no value at all.
    const chain = new Set([ref]);
    for (let t = target; isObj(t) && typeof t.$ref === "string"; t = lookup(t.$ref, path).target) {
      if (chain.has(t.$ref)) throw schemaError(path, "$ref", `$ref ${JSON.stringify(ref)} is a cycle of references`);
      chain.add(t.$ref);
    }
    // Name the rule before visiting, so recursive schemas refer to it.
    const name = rule(`ref-${parts[parts.length - 1] ?? "root"}`, `"\\u0000placeholder-${refs.size}"`);
    refs.set(ref, name);
    rules.set(name, visit(target as Schema, parts, name));
    return name;
  };

  const visit = (s: Schema, path: Path, hint: string): string => {
    if (s === true) return usePrimitive("value");
    if (s === false) throw schemaError(path, "false", "the schema `false` matches nothing");
    if (!isObj(s)) throw schemaError(path, "schema", "a schema must be an object or a boolean");
    for (const k of Object.keys(s)) {
      if (KNOWN.has(k)) continue;
      if (!options.ignoreUnknownKeywords) throw schemaError([...path, k], k, `keyword "${k}" is not supported`);
    }
    if (s.type === "json_object") return usePrimitive("object");
    if (s.$ref !== undefined) {
      const extra = Object.keys(s).filter((k) => k !== "$ref" && !ANNOTATIONS.has(k));
      if (extra.length) throw schemaError([...path, extra[0]!], "$ref with siblings", `keywords beside "$ref" (${extra.join(", ")}) are not supported`);
      if (typeof s.$ref !== "string") throw schemaError([...path, "$ref"], "$ref", "$ref must be a string");
      return resolveRef(s.$ref, [...path, "$ref"]);
    }
    if (s.const !== undefined) return literal(s.const);
    if (s.enum !== undefined) {
      if (!Array.isArray(s.enum) || s.enum.length === 0) throw schemaError([...path, "enum"], "enum", "enum must be a non-empty array");
      return rule(hint, s.enum.map((v) => literal(v)).join(" | "));
    }
    for (const key of ["anyOf", "oneOf"] as const) {
      if (s[key] === undefined) continue;
      const list = s[key];
      if (!Array.isArray(list) || list.length === 0) throw schemaError([...path, key], key, `${key} must be a non-empty array`);
      // oneOf is compiled as anyOf: outputs validate when the branches are mutually exclusive (the usual use).
      return rule(hint, list.map((b, i) => visit(b as Schema, [...path, key, i], `${hint}-${i}`)).join(" | "));
    }
    if (s.allOf !== undefined) {
      if (!Array.isArray(s.allOf) || s.allOf.length !== 1) throw schemaError([...path, "allOf"], "allOf", "allOf is only supported with exactly one schema");
      return visit(s.allOf[0] as Schema, [...path, "allOf", 0], hint);
    }
    let type = s.type;
    if (Array.isArray(type)) {
      if (type.length === 0) throw schemaError([...path, "type"], "type", "empty type list");
      return rule(hint, type.map((t, i) => visit({ ...s, type: t }, path, `${hint}-${i}`)).join(" | "));
    }
    if (type === undefined) {
      const implied = new Set(Object.keys(s).map((k) => TYPE_OF_KEYWORD[k]).filter((t) => t !== undefined));
      if (implied.size > 1) throw schemaError(path, "type", `no "type", and keywords for several types (${[...implied].join(", ")})`);
      type = implied.size === 1 ? [...implied][0] : undefined;
      if (type === undefined) return usePrimitive("value");
    }
    if (typeof type !== "string" || !TYPES.has(type)) throw schemaError([...path, "type"], "type", `unknown type ${JSON.stringify(type)}`);
    switch (type) {
      case "null": return usePrimitive("null");
      case "boolean": return usePrimitive("boolean");
      case "string": return visitString(s, path, hint);
      case "integer": case "number": return visitNumber(s, path, hint, type);
      case "array": return visitArray(s, path, hint);
      default: return visitObject(s, path, hint);
    }
  };

  const visitString = (s: Record<string, unknown>, path: Path, hint: string): string => {
    const char = usePrimitive("char");
    const space = usePrimitive("space");
    const min = s.minLength ?? 0;
    const max = s.maxLength ?? Infinity;
    if (!isCount(min)) throw schemaError([...path, "minLength"], "minLength", "minLength must be a non-negative integer");
    if (max !== Infinity && !isCount(max)) throw schemaError([...path, "maxLength"], "maxLength", "maxLength must be a non-negative integer");
    if (max < min) throw schemaError([...path, "maxLength"], "maxLength", "maxLength < minLength: no string matches");
    const sized = s.minLength !== undefined || s.maxLength !== undefined;
    if (s.pattern !== undefined || s.format !== undefined) {
      if (sized) throw schemaError([...path, s.pattern !== undefined ? "pattern" : "format"], "pattern/format with minLength/maxLength", "minLength/maxLength together with pattern or format are not supported");
      if (s.pattern !== undefined && s.format !== undefined) throw schemaError([...path, "format"], "pattern with format", "pattern together with format is not supported");
    }
    if (s.pattern !== undefined) {
      if (typeof s.pattern !== "string") throw schemaError([...path, "pattern"], "pattern", "pattern must be a string");
      const pointer = [...path, "pattern"].map((p) => `/${p}`).join("");
      return rule(hint, `"\\"" ${patternToGbnf(s.pattern, char, pointer)} "\\"" ${space}`);
    }
    if (s.format !== undefined) {
      const f = FORMATS[String(s.format)];
      if (!f) throw schemaError([...path, "format"], `format: ${String(s.format)}`, `format ${JSON.stringify(s.format)} is not supported (supported: ${Object.keys(FORMATS).join(", ")})`);
      return rule(`${hint}-${String(s.format)}`, `"\\"" ${f} "\\"" ${space}`);
    }
    if (!sized) return usePrimitive("string");
    const rep = max === Infinity ? (min === 0 ? "*" : `{${min},}`) : `{${min},${max}}`;
    return rule(hint, `"\\"" ${char}${rep} "\\"" ${space}`);
  };

  const bound = (s: Record<string, unknown>, key: string, path: Path): number | undefined => {
    const v = s[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v)) throw schemaError([...path, key], key, `${key} must be a number (draft-4 boolean form is not supported)`);
    return v;
  };
  const visitNumber = (s: Record<string, unknown>, path: Path, hint: string, type: "integer" | "number"): string => {
    const space = usePrimitive("space");
    const [min, max, xmin, xmax] = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"].map((k) => bound(s, k, path));
    if (min === undefined && max === undefined && xmin === undefined && xmax === undefined) return usePrimitive(type);
    const check = (v: number | null, key: string): number | null => {
      if (v !== null && !Number.isSafeInteger(v)) throw schemaError([...path, key], key, `${key} must lie within ±2^53 to be enforced`);
      return v;
    };
    if (type === "integer") {
      let lo: number | null = null;
      let hi: number | null = null;
      if (min !== undefined) lo = Math.ceil(min);
      if (xmin !== undefined) lo = Math.max(lo ?? -Infinity, Math.floor(xmin) + 1);
      if (max !== undefined) hi = Math.floor(max);
      if (xmax !== undefined) hi = Math.min(hi ?? Infinity, Math.ceil(xmax) - 1);
      check(lo, "minimum");
      check(hi, "maximum");
      if (lo !== null && hi !== null && lo > hi) throw schemaError(path, "minimum", "no integer lies within the bounds");
      return rule(hint, `${intRange(lo, hi)} ${space}`);
    }
    for (const [v, key] of [[xmin, "exclusiveMinimum"], [xmax, "exclusiveMaximum"]] as const) {
      if (v !== undefined) throw schemaError([...path, key], key, `${key} on type "number" is not supported (use minimum/maximum, or type "integer")`);
    }
    for (const [v, key] of [[min, "minimum"], [max, "maximum"]] as const) {
      if (v !== undefined && !Number.isInteger(v)) throw schemaError([...path, key], key, `a non-integer ${key} on type "number" is not supported`);
    }
    const lo = check(min ?? null, "minimum");
    const hi = check(max ?? null, "maximum");
    if (lo !== null && hi !== null && lo > hi) throw schemaError(path, "minimum", "minimum > maximum: no number matches");
    return rule(hint, `${numberRange(lo, hi)} ${space}`);
  };

  const visitArray = (s: Record<string, unknown>, path: Path, hint: string): string => {
    const space = usePrimitive("space");
    if (s.uniqueItems === true) throw schemaError([...path, "uniqueItems"], "uniqueItems", "uniqueItems is not supported");
    if (s.items !== undefined && !isObj(s.items) && typeof s.items !== "boolean") throw schemaError([...path, "items"], "items", "items must be a schema (tuple form: use prefixItems, which is not supported)");
    const item = s.items === undefined ? usePrimitive("value") : visit(s.items as Schema, [...path, "items"], `${hint}-item`);
    const min = s.minItems ?? 0;
    const max = s.maxItems ?? Infinity;
    if (!isCount(min)) throw schemaError([...path, "minItems"], "minItems", "minItems must be a non-negative integer");
    if (max !== Infinity && !isCount(max)) throw schemaError([...path, "maxItems"], "maxItems", "maxItems must be a non-negative integer");
    if (max < min) throw schemaError([...path, "maxItems"], "maxItems", "maxItems < minItems: no array matches");
    if (max === 0) return rule(hint, `"[" ${space} "]" ${space}`);
    const more = (lo: number, hi: number): string => (hi === Infinity ? (lo === 0 ? "*" : `{${lo},}`) : `{${lo},${hi}}`);
    const tail = `("," ${space} ${item})${more(Math.max(min - 1, 0), max - 1)}`;
    const body = min === 0 ? `(${item} ${tail})?` : `${item} ${tail}`;
    return rule(hint, `"[" ${space} ${body} "]" ${space}`);
  };

  const visitObject = (s: Record<string, unknown>, path: Path, hint: string): string => {
    const space = usePrimitive("space");
    const props = s.properties ?? {};
    if (!isObj(props)) throw schemaError([...path, "properties"], "properties", "properties must be an object");
    const required = s.required ?? [];
    if (!Array.isArray(required)) throw schemaError([...path, "required"], "required", "required must be an array");
    for (const r of required) if (typeof r !== "string" || !(r in props)) throw schemaError([...path, "required"], "required", `required property ${JSON.stringify(r)} is not in properties`);
    const ap = s.additionalProperties;
    const names = Object.keys(props);
    if (ap !== undefined && ap !== false) {
      // Extra keys would need "any string except the listed names"; only plain maps are supported.
      if (names.length > 0) throw schemaError([...path, "additionalProperties"], "additionalProperties", "additionalProperties other than false together with properties is not supported");
      const value = visit(ap as Schema, [...path, "additionalProperties"], `${hint}-value`);
      const kv = rule(`${hint}-kv`, `${usePrimitive("string")} ":" ${space} ${value}`);
      return rule(hint, `"{" ${space} (${kv} ("," ${space} ${kv})*)? "}" ${space}`);
    }
    if (names.length === 0 && s.properties === undefined && ap === undefined) return usePrimitive("object");
    // Properties in declared order, optional ones skippable; commas depend on whether one was written before:
    // after(i) = the rest once something was written, first(i) = the rest when nothing was written yet.
    const kvs = names.map((n) => `${gbnfLit(JSON.stringify(n))} ${space} ":" ${space} ${visit(props[n] as Schema, [...path, "properties", n], `${hint}-${n}`)}`);
    const req = names.map((n) => required.includes(n));
    const after: string[] = [];
    for (let i = names.length - 1; i >= 0; i--) {
      const rest = after[i + 1] ?? "";
      const head = `"," ${space} ${kvs[i]}`;
      after[i] = rule(`${hint}-after-${names[i]}`, req[i] ? `${head} ${rest}` : `(${head})? ${rest}`);
    }
    let first = "";
    for (let i = names.length - 1; i >= 0; i--) {
      const withIt = `${kvs[i]} ${after[i + 1] ?? ""}`;
      first = req[i] ? withIt : rule(`${hint}-from-${names[i]}`, `${withIt} | ${first || '""'}`);
    }
    return rule(hint, `"{" ${space} ${first} "}" ${space}`);
  };

  const rootExpr = visit(root, [], "root");
  const lines = [`root ::= ${rootExpr}`];
  for (const [name, body] of rules) lines.push(`${name} ::= ${body}`);
  return lines.join("\n") + "\n";
}

/** Compiles a JSON Schema into a Grammar (GrammarError naming the feature and JSON pointer when unsupported). */
export function compileJsonSchema(schema: unknown, options: JsonSchemaOptions = {}): Grammar {
  return compileGbnf(jsonSchemaToGbnf(schema, options));
}
