// Renders the OpenAPI document as a readable reference: operations grouped by tag, parameter tables, examples.

const root = document.getElementById("docs");

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function resolve(doc, schema) {
  if (!schema?.$ref) return schema ?? {};
  return schema.$ref.split("/").slice(1).reduce((o, k) => o[k], doc);
}

/** A short type description of a JSON Schema: "integer ≥ 0", "string | string[]", "null" options dropped. */
function typeOf(s) {
  if (s.anyOf) return [...new Set(s.anyOf.filter((x) => x.type !== "null").map(typeOf))].join(" | ");
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (s.const !== undefined) return JSON.stringify(s.const);
  const types = Array.isArray(s.type) ? s.type.filter((t) => t !== "null") : [s.type ?? "any"];
  let t = types.join(" | ");
  if (t === "array") t = `${typeOf(s.items ?? {})}[]`;
  const bounds = [];
  // ±2^53 bounds only say "a safe integer": not worth showing.
  if (s.minimum !== undefined && Math.abs(s.minimum) < 1e15) bounds.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) bounds.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined && Math.abs(s.maximum) < 1e15) bounds.push(`≤ ${s.maximum}`);
  return bounds.length ? `${t} (${bounds.join(", ")})` : t;
}

function schemaTable(doc, schema) {
  const s = resolve(doc, schema);
  if (!s.properties) return el("pre", { textContent: JSON.stringify(s, null, 2) });
  const required = new Set(s.required ?? []);
  const rows = Object.entries(s.properties).map(([name, p]) =>
    el("tr", {}, el("td", {}, el("code", { textContent: name })), el("td", { textContent: typeOf(p) }), el("td", { textContent: required.has(name) ? "required" : "" }), el("td", { textContent: p.description ?? "" })),
  );
  return el("table", {}, el("thead", {}, el("tr", {}, ...["field", "type", "", "notes"].map((h) => el("th", { textContent: h })))), el("tbody", {}, ...rows));
}

function example(value) {
  return value === undefined ? null : el("details", {}, el("summary", { textContent: "example" }), el("pre", { textContent: JSON.stringify(value, null, 2) }));
}

function operationView(doc, method, path, op) {
  const body = op.requestBody?.content?.["application/json"];
  const section = el("section", { className: "op", id: op.operationId },
    el("h3", {}, el("span", { className: "method", textContent: method }), el("code", { textContent: path })),
    el("p", { textContent: op.summary + (op.security ? " (bearer key when API_KEY is set)" : "") }),
  );
  if (body) section.append(el("h4", { textContent: `Request body${op.requestBody.required ? "" : " (optional)"}` }), schemaTable(doc, body.schema), example(body.example) ?? "");
  const responses = el("ul");
  for (const [status, r] of Object.entries(op.responses)) {
    const json = r.content?.["application/json"];
    const sse = r.content?.["text/event-stream"];
    const item = el("li", {}, el("strong", { textContent: status }), ` ${r.description}`);
    if (json?.schema) item.append(" — ", el("code", { textContent: json.schema.$ref?.split("/").pop() ?? "object" }));
    if (sse) item.append(el("p", { textContent: `stream: true → text/event-stream: ${sse.schema.description}` }));
    if (json?.example !== undefined && status.startsWith("2")) item.append(example(json.example));
    responses.append(item);
  }
  section.append(el("h4", { textContent: "Responses" }), responses);
  return section;
}

async function main() {
  const doc = await (await fetch("/openapi.json")).json();
  const byTag = new Map();
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = op.tags?.[0] ?? "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operationView(doc, method, path, op));
    }
  }
  const tagDesc = new Map((doc.tags ?? []).map((t) => [t.name, t.description]));
  root.replaceChildren(
    el("h2", { textContent: `${doc.info.title} ${doc.info.version}` }),
    el("p", { textContent: doc.info.description }),
    ...[...byTag].flatMap(([tag, views]) => [el("h2", { textContent: tag }), el("p", { className: "muted", textContent: tagDesc.get(tag) ?? "" }), ...views]),
  );
  root.setAttribute("aria-busy", "false");
}

main().catch((e) => {
  root.replaceChildren(el("p", { textContent: `could not load /openapi.json: ${e.message}` }));
});
