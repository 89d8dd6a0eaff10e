// JSON Schema grammars: unsupported features name themselves; hundreds of seeded random schemas sampled at temperature 1.0
// over a synthetic byte-piece vocabulary must always give JSON that parses and that ajv validates.
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { GrammarError, GrammarMatcher, compileJsonSchema, jsonSchemaToGbnf } from "../../src/grammar/index";
import { seededRandom } from "../helpers/random";
import { randomSchema, sample, syntheticVocab } from "./grammar-fixtures";

type S = Record<string, unknown>;
const V = syntheticVocab(7);

function judge(): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
  const date = (s: string) => {
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
    return !!m && +m[2]! >= 1 && +m[2]! <= 12 && +m[3]! >= 1 && +m[3]! <= daysIn(+m[1]!, +m[2]!);
  };
  const time = (s: string) => /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/.test(s);
  ajv.addFormat("date", date);
  ajv.addFormat("time", time);
  ajv.addFormat("date-time", (s: string) => s.length > 11 && s[10] === "T" && date(s.slice(0, 10)) && time(s.slice(11)));
  ajv.addFormat("uuid", /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  return ajv;
}
const ajv = judge();

function schemaError(schema: unknown): GrammarError {
  try {
    compileJsonSchema(schema);
  } catch (e) {
    if (e instanceof GrammarError) return e;
    throw e;
  }
  throw new Error(`expected a GrammarError for ${JSON.stringify(schema)}`);
}

describe("JSON Schema compilation", () => {
  it("rejects unsupported features, naming the feature and its JSON pointer", () => {
    const cases: [unknown, string, string][] = [
      [{ type: "object", properties: { a: { type: "string", format: "email" } } }, "/properties/a/format", "format: email"],
      [{ type: "number", exclusiveMinimum: 0 }, "/exclusiveMinimum", "exclusiveMinimum"],
      [{ type: "number", minimum: 0.5 }, "/minimum", "minimum"],
      [{ type: "array", items: { not: { type: "string" } } }, "/items/not", "not"],
      [{ type: "array", uniqueItems: true }, "/uniqueItems", "uniqueItems"],
      [{ properties: { x: { type: "string", pattern: "^(?=a)b$" } } }, "/properties/x/pattern", "pattern: lookaround assertions"],
      [{ type: "string", pattern: "(a)\\1" }, "/pattern", "pattern: backreferences"],
      [{ type: "string", pattern: "a\\bc" }, "/pattern", "pattern: \\b (word boundary)"],
      [{ type: "string", pattern: "a^b" }, "/pattern", "pattern: an anchor (^ or $) inside the pattern"],
      [{ type: "string", pattern: "\\p{L}" }, "/pattern", "pattern: \\p{...} (Unicode property escapes)"],
      [{ $ref: "http://x/y" }, "/$ref", "$ref"],
      [{ $ref: "#/$defs/missing" }, "/$ref", "$ref"],
      [{ allOf: [{ type: "string" }, { minLength: 1 }] }, "/allOf", "allOf"],
      [{ type: "object", properties: { a: {} }, additionalProperties: true }, "/additionalProperties", "additionalProperties"],
      [{ type: "object", properties: { a: {} }, required: ["b"] }, "/required", "required"],
      [{ type: "string", minLength: 2, pattern: "a+" }, "/pattern", "pattern/format with minLength/maxLength"],
      [{ type: "integer", minimum: 5, maximum: 4 }, "", "minimum"],
      [{ type: "object", patternProperties: {} }, "/patternProperties", "patternProperties"],
      [{ $defs: { a: { type: "strin" } }, $ref: "#/$defs/a" }, "/$defs/a/type", "type"],
    ];
    for (const [schema, path, feature] of cases) {
      const e = schemaError(schema);
      expect({ path: e.path, feature: e.feature }, JSON.stringify(schema)).toEqual({ path, feature });
      expect(e.message).toContain(`"${path}"`);
    }
  });

  it("treats {type: json_object} as any JSON object, and unknown keywords as errors unless told to ignore them", () => {
    const g = compileJsonSchema({ type: "json_object" });
    const m = new GrammarMatcher(g, V.vocab);
    expect(m.acceptBytes(new TextEncoder().encode('{"a": [1, {"b": null}], "c": "d"}')) && m.isComplete()).toBe(true);
    expect(() => compileJsonSchema({ type: "string", contentEncoding: "base64" })).toThrow(GrammarError);
    expect(() => compileJsonSchema({ type: "string", contentEncoding: "base64" }, { ignoreUnknownKeywords: true })).not.toThrow();
  });

  it("bounds integers exactly, also across digit lengths and signs", () => {
    const rand = seededRandom(3);
    for (const [lo, hi] of [[0, 0], [-7, 7], [18, 120], [-1000, -999], [99, 101], [-12345, 678], [1, 1_000_000], [-5, null], [null, 42], [7, null]] as const) {
      const schema: S = { type: "integer" };
      if (lo !== null) schema.minimum = lo;
      if (hi !== null) schema.maximum = hi;
      const g = compileJsonSchema(schema);
      const probe = (n: number) => {
        const m = new GrammarMatcher(g, V.vocab);
        return m.acceptBytes(new TextEncoder().encode(String(n))) && m.isComplete();
      };
      const from = lo ?? -50_000;
      const to = hi ?? 50_000;
      const inside = (n: number) => n >= (lo ?? -Infinity) && n <= (hi ?? Infinity);
      for (const n of [from - 1, from, to, to + 1, 0, -1, 1, 10, 100, -100]) expect(probe(n), `${n} in [${lo}, ${hi}]`).toBe(inside(n));
      for (let i = 0; i < 200; i++) {
        const n = Math.round(from - 10 + rand() * (to - from + 20));
        expect(probe(n), `${n} in [${lo}, ${hi}]`).toBe(inside(n));
      }
    }
  });
});

describe("random schemas sampled at temperature 1.0", () => {
  const SCHEMAS = 300;
  const SAMPLES = 3;
  it(`${SCHEMAS} schemas × ${SAMPLES} samples: every output parses and validates`, () => {
    const rand = seededRandom(20261204);
    let outputs = 0;
    const failures: string[] = [];
    const distinct = new Set<string>();
    for (let i = 0; i < SCHEMAS; i++) {
      const defs: S = {};
      const body = randomSchema(rand, 3, defs);
      const schema: S = Object.keys(defs).length ? { ...body, $defs: defs } : body;
      let grammar;
      try {
        grammar = compileJsonSchema(schema);
      } catch (e) {
        // Only bounds the generator may produce on purpose (non-integer number bounds never are; integer ones are fine).
        throw new Error(`schema ${i} ${JSON.stringify(schema)} did not compile: ${(e as Error).message}\n${(() => { try { return jsonSchemaToGbnf(schema); } catch { return ""; } })()}`);
      }
      const validate = ajv.compile(schema);
      for (let k = 0; k < SAMPLES; k++) {
        const text = sample(grammar, V, rand, 10 + Math.floor(rand() * 80));
        outputs++;
        distinct.add(text);
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          failures.push(`schema ${i}: unparsable ${JSON.stringify(text)}`);
          continue;
        }
        if (!validate(value)) failures.push(`schema ${i} ${JSON.stringify(schema)}: ${JSON.stringify(text)} ${ajv.errorsText(validate.errors)}`);
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
    expect(outputs).toBe(SCHEMAS * SAMPLES);
    expect(distinct.size).toBeGreaterThan(SCHEMAS * SAMPLES * 0.8); // sampling explores, it does not just take shortest paths
  });
});
