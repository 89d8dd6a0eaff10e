// Structured output on stories260K (SentencePiece, 512 tokens) at temperature 1: response_format json_object and json_schema, llama.cpp's grammar and json_schema, streaming, sessions, refusals, and the decode overhead of masking.
import { beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { call, createSession, json, parseSse, seedModel } from "./helpers";

beforeAll(seedModel);

const complete = (body: Record<string, unknown>, status = 200) => call("POST", "/v1/completions", { temperature: 1, ...body }).then((r) => json(r, status));
const chat = (body: Record<string, unknown>, status = 200) => call("POST", "/v1/chat/completions", { temperature: 1, ...body }).then((r) => json(r, status));
const user = [{ role: "user", content: "Tell me about a person." }];
const SEEDS = [1, 2, 3, 4, 5, 6];

const TAGS = ["cat", "dog", "happy", "sad"] as const;
const PERSON = {
  type: "object",
  properties: {
    name: { type: "string", maxLength: 12 },
    age: { type: "integer", minimum: 0, maximum: 120 },
    tags: { type: "array", items: { enum: [...TAGS] }, maxItems: 3 },
  },
  required: ["name", "age", "tags"],
  additionalProperties: false,
};
// The same schema as a validator (ajv compiles validators with new Function, which workerd does not allow; zod does not need it).
const Person = z.strictObject({
  name: z.string().refine((s) => [...s].length <= 12, "at most 12 code points"),
  age: z.number().int().min(0).max(120),
  tags: z.array(z.enum(TAGS)).max(3),
});
const personFormat = { type: "json_schema", json_schema: { name: "person", schema: PERSON, strict: true } };

// A story model inside a JSON string writes story text: at temperature 1 it seldom samples the closing quote, and any
// string may go on, so the object ends only by chance within max_tokens. A logit_bias (applied before the mask) on the
// quote (436, 313: '▁"') and the "}" byte token (128) makes ending likely; the grammar still decides what is allowed.
const closing = { "436": 5, "313": 5, "128": 12 };

describe("response_format json_object", () => {
  it.each(SEEDS)("chat, seed %i: the reply is one JSON object and ends with stop", async (seed) => {
    const r = await chat({ messages: user, seed, max_tokens: 400, logit_bias: closing, response_format: { type: "json_object" } });
    const text = r.choices[0].message.content;
    expect(r.choices[0].finish_reason, text).toBe("stop");
    const v = JSON.parse(text);
    expect(typeof v === "object" && v !== null && !Array.isArray(v)).toBe(true);
    expect(Object.keys(v).length, text).toBeGreaterThan(0);
  });

  it("completions too", async () => {
    const r = await complete({ prompt: "Once upon a time", seed: 7, max_tokens: 400, logit_bias: closing, response_format: { type: "json_object" } });
    expect(r.choices[0].finish_reason).toBe("stop");
    expect(JSON.parse(r.choices[0].text)).toBeTypeOf("object");
  });
});

describe("response_format json_schema", () => {
  it.each(SEEDS)("chat, seed %i: parses and validates against the schema", async (seed) => {
    const r = await chat({ messages: user, seed, max_tokens: 200, response_format: personFormat });
    const text = r.choices[0].message.content;
    expect(r.choices[0].finish_reason, text).toBe("stop");
    const parsed = Person.safeParse(JSON.parse(text));
    expect(parsed.success, `${text}\n${JSON.stringify(parsed.error?.issues)}`).toBe(true);
  });

  it.each(SEEDS.slice(0, 3))("completions with llama.cpp's json_schema field, seed %i", async (seed) => {
    const r = await complete({ prompt: "Once upon a time", seed, max_tokens: 200, json_schema: PERSON });
    expect(r.choices[0].finish_reason).toBe("stop");
    expect(Person.safeParse(JSON.parse(r.choices[0].text)).success, r.choices[0].text).toBe(true);
  });

  it("n = 3 choices each follow the schema", async () => {
    const r = await chat({ messages: user, seed: 11, n: 3, max_tokens: 200, response_format: personFormat });
    expect(r.choices).toHaveLength(3);
    for (const c of r.choices) expect(Person.safeParse(JSON.parse(c.message.content)).success, c.message.content).toBe(true);
  });

  it("strict: false and an absent additionalProperties generate the same (no extra keys are ever generated)", async () => {
    const { additionalProperties: _, ...open } = PERSON;
    const a = await chat({ messages: user, seed: 3, max_tokens: 200, response_format: personFormat });
    const b = await chat({ messages: user, seed: 3, max_tokens: 200, response_format: { type: "json_schema", json_schema: { name: "person", schema: open, strict: false } } });
    expect(b.choices[0].message.content).toBe(a.choices[0].message.content);
  });

  it("streaming reconstructs the same text as the non-streamed reply", async () => {
    const body = { messages: user, seed: 5, max_tokens: 200, response_format: personFormat };
    const whole = await chat(body);
    const res = await call("POST", "/v1/chat/completions", { temperature: 1, ...body, stream: true });
    expect(res.status).toBe(200);
    const frames = parseSse(await res.text()).filter((f) => f.data !== "[DONE]").map((f) => JSON.parse(f.data));
    const text = frames.map((f) => f.choices[0]?.delta?.content ?? "").join("");
    expect(text).toBe(whole.choices[0].message.content);
    expect(frames.at(-1).choices[0].finish_reason).toBe("stop");
  });

  it("max_tokens before the grammar is complete ends with length (the text may not parse)", async () => {
    const r = await chat({ messages: user, seed: 1, max_tokens: 3, response_format: personFormat });
    expect(r.choices[0].finish_reason).toBe("length");
    expect(r.usage.completion_tokens).toBe(3);
    expect(r.choices[0].message.content.startsWith("{")).toBe(true);
  });
});

describe("GBNF grammar", () => {
  it.each(SEEDS)('root ::= ("yes" | "no"), seed %i: exactly yes or no', async (seed) => {
    const r = await complete({ prompt: "Is it a dog?", seed, max_tokens: 10, grammar: 'root ::= ("yes" | "no")' });
    expect(["yes", "no"]).toContain(r.choices[0].text);
    expect(r.choices[0].finish_reason).toBe("stop");
  });

  it("greedy decoding is masked too", async () => {
    const grammar = 'root ::= [a-z]+ "."';
    const r = await complete({ prompt: "Once upon a time", temperature: 0, max_tokens: 30, grammar });
    expect(r.choices[0].text).toMatch(/^[a-z]+\.?$/);
    if (r.choices[0].finish_reason === "stop") expect(r.choices[0].text).toMatch(/^[a-z]+\.$/);
  });
});

describe("sessions", () => {
  it("a constrained request constrains its own reply only; the next request in the session is free again", async () => {
    const s = await createSession({ seed: 9 });
    const first = await complete({ prompt: "Once upon a time", session_id: s.id, max_tokens: 10, grammar: 'root ::= ("yes" | "no")' });
    expect(["yes", "no"]).toContain(first.choices[0].text);
    const next = await complete({ prompt: " and then", session_id: s.id, temperature: 0, max_tokens: 12 });
    expect(next.choices[0].text).not.toMatch(/^(yes|no)$/);
    expect(next.usage.completion_tokens).toBeGreaterThan(2);
  });
});

describe("refusals", () => {
  it("an unsupported schema feature is a 400 naming the feature and its path", async () => {
    const schema = { type: "object", properties: { email: { type: "string", format: "email" } } };
    const err = await chat({ messages: user, response_format: { type: "json_schema", json_schema: { name: "x", schema } } }, 400);
    expect(err.error).toMatchObject({ type: "invalid_request_error", code: "invalid_grammar" });
    expect(err.error.param).toMatch(/^response_format\.json_schema\.schema\.properties\.email/);
    expect(err.error.message).toContain("email");
    const not = await complete({ prompt: "x", json_schema: { type: "object", not: {} } }, 400);
    expect(not.error).toMatchObject({ param: "json_schema.not", code: "invalid_grammar" });
  });

  it("a bad GBNF is a 400 with its line and column; two constraints at once and unknown formats are 400s", async () => {
    const bad = await complete({ prompt: "x", grammar: "root ::= (" }, 400);
    expect(bad.error).toMatchObject({ param: "grammar", code: "invalid_grammar" });
    expect(bad.error.message).toMatch(/line 1/);
    const two = await complete({ prompt: "x", grammar: 'root ::= "a"', response_format: { type: "json_object" } }, 400);
    expect(two.error.param).toBe("grammar");
    const xml = await chat({ messages: user, response_format: { type: "xml" } }, 400);
    expect(xml.error.param).toMatch(/^response_format/);
    const noName = await chat({ messages: user, response_format: { type: "json_schema", json_schema: { schema: PERSON } } }, 400);
    expect(noName.error.param).toMatch(/^response_format\.json_schema/);
  });
});

describe("decode overhead of masking", () => {
  it("tokens/s with and without a grammar, same seeds and token counts, interleaved in one run", async () => {
    // json_object without the closing bias runs to max_tokens, like the unconstrained reply: equal token counts.
    const kinds: Record<string, Record<string, unknown>> = { plain: {}, json_object: { response_format: { type: "json_object" } } };
    const total: Record<string, { tokens: number; ms: number }> = { plain: { tokens: 0, ms: 0 }, json_object: { tokens: 0, ms: 0 } };
    for (const round of [0, 1, 2, 3]) {
      for (const [kind, extra] of Object.entries(kinds)) {
        for (const seed of SEEDS) {
          // workerd's clock moves only on I/O, which each request is: wall time per request, prefill included.
          const t0 = Date.now();
          const r = await chat({ messages: user, seed, max_tokens: 200, ...extra });
          if (round === 0) continue; // warm-up: the model, and the grammar's DFA states and masks
          total[kind]!.ms += Date.now() - t0;
          total[kind]!.tokens += r.usage.completion_tokens;
        }
      }
    }
    const rate = (k: string) => (total[k]!.tokens * 1000) / Math.max(1, total[k]!.ms);
    console.log(`structured-output overhead (stories260K): plain ${rate("plain").toFixed(0)} tok/s (${total.plain!.tokens} tokens in ${total.plain!.ms} ms), json_object ${rate("json_object").toFixed(0)} tok/s (${total.json_object!.tokens} tokens in ${total.json_object!.ms} ms)`);
    expect(total.json_object!.tokens).toBe(total.plain!.tokens);
  });
});

describe("OpenAPI", () => {
  it("documents response_format (text, json_object, json_schema), grammar and json_schema on both endpoints", async () => {
    const doc = await json(await call("GET", "/openapi.json"));
    for (const name of ["CompletionRequest", "ChatCompletionRequest"]) {
      const props = doc.components.schemas[name].properties;
      expect(props, name).toHaveProperty("grammar");
      expect(props, name).toHaveProperty("json_schema");
      const rf = JSON.stringify(props.response_format);
      for (const t of ["text", "json_object", "json_schema", "strict"]) expect(rf, name).toContain(t);
    }
  });
});

describe("native session route", () => {
  it("generate takes grammar and json_schema for that request only; a bad one is a 400", async () => {
    const s = await createSession({ seed: 4, temperature: 1 });
    const yn = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: "Is it a dog?", max_tokens: 10, grammar: 'root ::= ("yes" | "no")' }));
    expect(["yes", "no"]).toContain(yn.text);
    expect(yn.finish_reason).toBe("eos");
    const person = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: " Now JSON:", max_tokens: 200, json_schema: PERSON }));
    expect(Person.safeParse(JSON.parse(person.text)).success, person.text).toBe(true);
    const free = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { max_tokens: 8, temperature: 0 }));
    expect(free.tokens).toHaveLength(8);
    const bad = await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: "x", grammar: "root ::= [" }), 400);
    expect(bad.error).toMatchObject({ param: "grammar", code: "invalid_grammar" });
  });
});
