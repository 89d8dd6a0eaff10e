// The OpenAPI document against the app: every registered route documented (and nothing more), every example and live answer valid.
import { describe, expect, it, beforeAll } from "vitest";
import { SCHEMAS, ROUTES, openApiPath, type SchemaName } from "../../src/api/openapi";
import { app } from "../../src/index";
import { call, createSession, json, seedModel } from "./helpers";

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref: string } }> }; responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown> };
}

/** Routes the Hono app serves (middleware entries are method ALL), as "method path" with OpenAPI path syntax. */
function appRoutes(): string[] {
  const routes = app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path.length > 1 ? r.path.replace(/\/$/, "") : r.path).path}`);
  return [...new Set(routes)].sort();
}

function valid(name: SchemaName, value: unknown): void {
  const r = SCHEMAS[name].safeParse(value);
  if (!r.success) throw new Error(`${name}: ${JSON.stringify(r.error.issues)}\n${JSON.stringify(value)}`);
}

describe("GET /openapi.json", () => {
  let doc: Doc;
  beforeAll(async () => {
    await seedModel();
    doc = await json<Doc>(await call("GET", "/openapi.json"));
  });

  it("documents exactly the routes the app registers", () => {
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)).sort();
    expect(appRoutes().length).toBeGreaterThanOrEqual(12);
    expect(documented).toEqual(appRoutes());
  });

  it("is OpenAPI 3.1 with every $ref resolving to a component schema", () => {
    expect(doc.openapi).toBe("3.1.0");
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(20);
    for (const r of refs) expect(doc.components.schemas, r).toHaveProperty(r);
    // Request bodies come from the API's own zod schemas: a field the API validates is in the document.
    const gen = doc.components.schemas.GenerateRequest as { properties: Record<string, unknown> };
    expect(Object.keys(gen.properties)).toEqual(expect.arrayContaining(["text", "max_tokens", "stream", "temperature", "top_k", "seed"]));
  });

  it("every documented example validates against its zod schema", () => {
    let checked = 0;
    for (const r of ROUTES) {
      if (r.body) {
        valid(r.body.schema, r.body.example);
        checked++;
      }
      for (const x of r.responses) {
        if (x.schema && x.example !== undefined) {
          valid(x.schema, x.example);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });

  it("the examples the document serves are those checked above", () => {
    const gen = ROUTES.find((r) => r.path === "/v1/sessions/:id/generate")!;
    const op = doc.paths["/v1/sessions/{id}/generate"]!.post as unknown as { requestBody: { content: { "application/json": { example: unknown } } } };
    expect(op.requestBody.content["application/json"].example).toEqual(gen.body!.example);
  });
});

describe("live answers match the documented response schemas", () => {
  beforeAll(seedModel);

  it("service, session and OpenAI routes", async () => {
    valid("Health", await json(await call("GET", "/health")));
    valid("ModelList", await json(await call("GET", "/v1/models")));
    valid("ModelInfo", await json(await call("GET", "/v1/model")));
    const s = await createSession({ temperature: 0 });
    valid("Session", s);
    valid("Generation", await json(await call("POST", `/v1/sessions/${s.id}/generate`, { text: "Once upon a time", max_tokens: 8 })));
    valid("Session", await json(await call("GET", `/v1/sessions/${s.id}`)));
    valid("Session", await json(await call("POST", `/v1/sessions/${s.id}/rewind`, { tokens: 3 })));
    const fork = await json(await call("POST", `/v1/sessions/${s.id}/fork`), 201);
    valid("Session", fork);
    valid("SessionDeleted", await json(await call("DELETE", `/v1/sessions/${fork.id}`)));
    valid("Completion", await json(await call("POST", "/v1/completions", { prompt: "Once", max_tokens: 4 })));
    valid("ChatCompletion", await json(await call("POST", "/v1/chat/completions", { messages: [{ role: "user", content: "Hi" }], max_tokens: 4 })));
    valid("Error", await json(await call("POST", `/v1/sessions/${s.id}/generate`, { max_tokens: -1 }), 400));
  });

  it("GET /v1/model reports the backend that runs the model, resolved from the setting", async () => {
    const m = await json(await call("GET", "/v1/model"));
    expect(m.backend_setting).toBe("wasm");
    expect(["wasm-relaxed", "wasm-simd128"]).toContain(m.backend);
    expect(m.config).toMatchObject({ dim: 64, n_layers: 5, n_heads: 8, n_kv_heads: 4, vocab_size: 512 });
    expect(m.memory.used_bytes).toBeGreaterThan(0);
    expect(m.memory.used_bytes).toBeLessThanOrEqual(m.memory.budget_bytes);
  });
});
