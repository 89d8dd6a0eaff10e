// Tool calling pieces without a model: format detection, the forced-call grammar, the per-format parsers, the streaming gate, generic messages and template rendering.
import { describe, expect, it } from "vitest";
import { compileGbnf, GrammarMatcher, TokenVocab } from "../../src/grammar/index";
import { renderTemplate } from "../../src/session/chat";
import type { ToolDef } from "../../src/tools/fields";
import { genericMessages, toolFormat } from "../../src/tools/format";
import { checkToolSchemas, prefixRules, toolCallGbnf } from "../../src/tools/grammar";
import { callStart, parseToolCalls } from "../../src/tools/parse";
import { toolPlanFor } from "../../src/tools/plan";
import { ToolStreamGate } from "../../src/tools/reply";
import { HERMES, LLAMA3 } from "../helpers/tool-templates";

const weather: ToolDef = {
  type: "function",
  function: { name: "get_weather", description: "The weather in a city", parameters: { type: "object", properties: { city: { type: "string" }, days: { type: "integer", minimum: 1, maximum: 7 } }, required: ["city", "days"] } },
};
const time: ToolDef = { type: "function", function: { name: "get_time" } };
const NAMES = new Set(["get_weather", "get_time"]);

/** A vocabulary of the 256 single bytes plus EOG: any text can be fed byte by byte. */
const bytesVocab = new TokenVocab([...Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)), new Uint8Array(0)], { eogTokens: [256] });
/** Whether `text` is a complete sentence of the grammar. */
function accepts(gbnf: string, text: string): boolean {
  const m = new GrammarMatcher(compileGbnf(gbnf), bytesVocab);
  return m.acceptBytes(new TextEncoder().encode(text)) && m.isComplete();
}

const CHATML = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

describe("tool-call formats", () => {
  it("detects the format from the chat template", () => {
    expect(toolFormat(HERMES)).toBe("hermes");
    expect(toolFormat(LLAMA3)).toBe("llama3");
    expect(toolFormat(CHATML)).toBe("generic");
    expect(toolFormat(undefined)).toBe("generic");
  });
});

describe("the forced-call grammar", () => {
  it("hermes: the wrapper around a call whose name is a tool and whose arguments follow its schema", () => {
    const g = toolCallGbnf("hermes", [weather, time], false);
    expect(accepts(g, '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}\n</tool_call>')).toBe(true);
    expect(accepts(g, '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>')).toBe(true);
    expect(accepts(g, '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 9}}\n</tool_call>')).toBe(false); // maximum 7
    expect(accepts(g, '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>')).toBe(false); // days required
    expect(accepts(g, '<tool_call>\n{"name": "delete_all", "arguments": {}}\n</tool_call>')).toBe(false);
    expect(accepts(g, '{"name": "get_time", "arguments": {}}')).toBe(false); // no wrapper
    // One call only without parallel; several with it.
    const two = '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>';
    expect(accepts(g, two)).toBe(false);
    expect(accepts(toolCallGbnf("hermes", [weather, time], true), two)).toBe(true);
  });

  it("llama3 uses the parameters key; generic wraps in tool_call (tool_calls with parallel)", () => {
    expect(accepts(toolCallGbnf("llama3", [time], false), '{"name": "get_time", "parameters": {}}')).toBe(true);
    expect(accepts(toolCallGbnf("llama3", [time], false), '{"name": "get_time", "arguments": {}}')).toBe(false);
    expect(accepts(toolCallGbnf("generic", [weather], false), '{"tool_call": {"name": "get_weather", "arguments": {"city": "Oslo", "days": 1}}}')).toBe(true);
    const par = toolCallGbnf("generic", [weather, time], true);
    expect(accepts(par, '{"tool_calls": [{"name": "get_time", "arguments": {}}, {"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}]}')).toBe(true);
    expect(accepts(par, '{"tool_calls": []}')).toBe(false);
  });

  it("a named function (tools narrowed to it) allows only that function", () => {
    const g = toolCallGbnf("generic", [time], false);
    expect(accepts(g, '{"tool_call": {"name": "get_time", "arguments": {}}}')).toBe(true);
    expect(accepts(g, '{"tool_call": {"name": "get_weather", "arguments": {"city": "Oslo", "days": 1}}}')).toBe(false);
  });

  it("local $refs in parameters keep resolving", () => {
    const t: ToolDef = { type: "function", function: { name: "f", parameters: { type: "object", $defs: { c: { enum: ["red", "blue"] } }, properties: { color: { $ref: "#/$defs/c" } }, required: ["color"] } } };
    const g = toolCallGbnf("generic", [t], false);
    expect(accepts(g, '{"tool_call": {"name": "f", "arguments": {"color": "red"}}}')).toBe(true);
    expect(accepts(g, '{"tool_call": {"name": "f", "arguments": {"color": "green"}}}')).toBe(false);
  });

  it("parameters {} (or without a type) describe an object", () => {
    const empty: ToolDef = { type: "function", function: { name: "ping", parameters: {} } };
    expect(accepts(toolCallGbnf("generic", [empty], false), '{"tool_call": {"name": "ping", "arguments": {}}}')).toBe(true);
    expect(accepts(toolCallGbnf("generic", [empty], false), '{"tool_call": {"name": "ping", "arguments": []}}')).toBe(false);
    const untyped: ToolDef = { type: "function", function: { name: "f", parameters: { properties: { a: { type: "boolean" } }, required: ["a"] } } };
    expect(() => checkToolSchemas([empty, untyped])).not.toThrow();
    expect(accepts(toolCallGbnf("generic", [untyped], false), '{"tool_call": {"name": "f", "arguments": {"a": true}}}')).toBe(true);
  });

  it("prefixRules renames rules but not literals, classes or counts", () => {
    expect(prefixRules('root ::= "root" [a-z]{0,20} x-1\nx-1 ::= "a"', "p-")).toBe('p-root ::= "root" [a-z]{0,20} p-x-1\np-x-1 ::= "a"');
  });

  it("refuses parameters that are not an object schema or use an unsupported feature, naming the field", () => {
    expect(() => checkToolSchemas([{ type: "function", function: { name: "f", parameters: { type: "string" } } }])).toThrow(/tools\.0\.function\.parameters: .*object schema/);
    try {
      checkToolSchemas([time, { type: "function", function: { name: "g", parameters: { type: "object", properties: { n: { type: "number", multipleOf: 3 } } } } }]);
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ name: "ToolSchemaError", param: "tools.1.function.parameters.properties.n.multipleOf", message: expect.stringContaining("unsupported") });
    }
  });
});

describe("parsing replies", () => {
  it("hermes: text before the calls is content; several calls; an unclosed last call; malformed stays text", () => {
    expect(parseToolCalls("hermes", 'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 1}}\n</tool_call>', NAMES)).toEqual({
      content: "Let me check.\n",
      calls: [{ name: "get_weather", arguments: '{"city": "Paris", "days": 1}' }], // the model's own JSON text
    });
    expect(parseToolCalls("hermes", '<tool_call>{"name": "get_time", "arguments": {}}</tool_call>\n<tool_call>{"name": "get_time", "arguments": "{\\"tz\\": \\"UTC\\"}"}', NAMES)?.calls).toEqual([
      { name: "get_time", arguments: "{}" },
      { name: "get_time", arguments: '{"tz":"UTC"}' }, // given as a JSON string: re-serialised
    ]);
    expect(parseToolCalls("hermes", '<tool_call>{"name": "nope", "arguments": {}}</tool_call>', NAMES)).toBeNull();
    expect(parseToolCalls("hermes", '<tool_call>{"name": "get_time", "arguments": {</tool_call>', NAMES)).toBeNull();
    expect(parseToolCalls("hermes", '<tool_call>{"name": "get_time", "arguments": {}}</tool_call> and more', NAMES)).toBeNull();
    expect(parseToolCalls("hermes", "Just text.", NAMES)).toBeNull();
  });

  it("llama3: one JSON object with parameters, optionally after <|python_tag|>", () => {
    expect(parseToolCalls("llama3", ' {"name": "get_time", "parameters": {"tz": "UTC"}}', NAMES)).toEqual({ content: null, calls: [{ name: "get_time", arguments: '{"tz": "UTC"}' }] });
    expect(parseToolCalls("llama3", '<|python_tag|>{"name": "get_time", "parameters": {}}', NAMES)?.calls).toHaveLength(1);
    expect(parseToolCalls("llama3", '{"name": "get_time", "parameters": [1]}', NAMES)).toBeNull();
    expect(parseToolCalls("llama3", '{"name": "get_time", "parameters": {}, "x": 1}', NAMES)).toBeNull();
  });

  it("generic: tool_call or tool_calls", () => {
    expect(parseToolCalls("generic", '{"tool_call": {"name": "get_time", "arguments": {}}}', NAMES)?.calls).toEqual([{ name: "get_time", arguments: "{}" }]);
    expect(parseToolCalls("generic", '{"tool_calls": [{"name": "get_time", "arguments": {}}, {"name": "get_weather", "arguments": {"city": "X", "days": 2}}]}', NAMES)?.calls).toHaveLength(2);
    expect(parseToolCalls("generic", '{"tool_calls": []}', NAMES)).toBeNull();
    expect(parseToolCalls("generic", '{"answer": 42}', NAMES)).toBeNull();
    expect(parseToolCalls("generic", "Once upon a time", NAMES)).toBeNull();
  });

  it("callStart: where held-back text begins", () => {
    expect(callStart("hermes", "Sure <tool")).toBe(5);
    expect(callStart("hermes", "Sure <tool_call>{")).toBe(5);
    expect(callStart("hermes", "Sure.")).toBe(-1);
    expect(callStart("generic", "  {")).toBe(0);
    expect(callStart("generic", "  ")).toBe(0);
    expect(callStart("generic", "Hello {")).toBe(-1);
    expect(callStart("llama3", "<|py")).toBe(0);
  });
});

describe("the streaming gate", () => {
  const plan = (template: string | undefined, choice?: "auto" | "required") => toolPlanFor(template, { messages: [{ role: "user", content: "hi" }], tools: [weather, time], tool_choice: choice });

  it("auto, hermes: text streams until a call may begin; the call comes out at the end", () => {
    const gate = new ToolStreamGate(plan(HERMES));
    const pieces = ["Let me", " look. <tool", "_call>\n", '{"name": "get_time", "arguments": {}}', "\n</tool_call>"];
    const sent = pieces.map((p) => gate.push(p));
    expect(sent.map((o) => o.content)).toEqual(["Let me", " look. ", "", "", ""]);
    expect(sent.flatMap((o) => o.deltas)).toEqual([]); // auto: calls only once the reply ends
    const end = gate.end(pieces.join(""));
    expect(end.content).toBe("");
    expect(end.called).toBe(true);
    expect(end.deltas).toMatchObject([
      { tool_calls: [{ index: 0, type: "function", function: { name: "get_time", arguments: "" }, id: expect.stringMatching(/^call_[A-Za-z0-9]{24}$/) }] },
      { tool_calls: [{ index: 0, function: { arguments: "{}" } }] },
    ]);
  });

  it("auto: held text is released once it cannot be a call, or at the end when it does not parse", () => {
    const gate = new ToolStreamGate(plan(HERMES));
    expect(gate.push("a <tool").content).toBe("a ");
    expect(gate.push("box>").content).toBe("<toolbox>");
    expect(gate.push(" <tool_call>{oops").content).toBe(" ");
    expect(gate.end("a <toolbox> <tool_call>{oops")).toEqual({ content: "<tool_call>{oops", deltas: [], called: false });
    const generic = new ToolStreamGate(plan(undefined));
    expect(generic.push("Once").content).toBe("Once");
    expect(generic.push(" {").content).toBe(" {");
  });

  it("required: nothing streams as content; the name as soon as it is complete, then the arguments as they come", () => {
    const gate = new ToolStreamGate(plan(CHATML, "required"));
    expect(gate.push('{"tool_call": ')).toEqual({ content: "", deltas: [] });
    expect(gate.push('{"name": "get_ti')).toEqual({ content: "", deltas: [] });
    const named = gate.push('me", "argum');
    expect(named.content).toBe("");
    expect(named.deltas).toMatchObject([{ tool_calls: [{ index: 0, type: "function", id: expect.stringMatching(/^call_/), function: { name: "get_time", arguments: "" } }] }]);
    expect(gate.push('ents": {"zo').deltas).toEqual([{ tool_calls: [{ index: 0, function: { arguments: '{"zo' } }] }]);
    expect(gate.push('ne": "UTC"} ').deltas).toEqual([{ tool_calls: [{ index: 0, function: { arguments: 'ne": "UTC"}' } }] }]);
    expect(gate.push("}").deltas).toEqual([]);
    expect(gate.end('{"tool_call": {"name": "get_time", "arguments": {"zone": "UTC"} }}')).toEqual({ content: "", deltas: [], called: true });
  });
});

describe("messages and templates", () => {
  const history = [
    { role: "user" as const, content: "Weather in Paris?" },
    { role: "assistant" as const, content: "", tool_calls: [{ id: "call_1", type: "function" as const, function: { name: "get_weather", arguments: '{"city":"Paris","days":1}' } }] },
    { role: "tool" as const, content: "sunny", tool_call_id: "call_1" },
  ];

  it("a hermes template renders the tools, the call (arguments as an object) and the tool result", () => {
    const p = toolPlanFor(HERMES, { messages: history, tools: [weather] });
    expect(p.tools).toEqual([{ type: "function", function: weather.function }]);
    const text = renderTemplate(HERMES, p.messages, { bos: "", eos: "" }, p.tools);
    expect(text).toContain('<tools>{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city", "parameters": {"type": "object"');
    expect(text).toContain('<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 1}}\n</tool_call><|im_end|>');
    expect(text).toContain("<|im_start|>user\n<tool_response>\nsunny\n</tool_response><|im_end|>\n<|im_start|>assistant\n");
  });

  it("generic: tools in the system turn, calls as JSON text, results as user turns naming the tool", () => {
    const out = genericMessages(history, [weather], false);
    expect(out[0]!.role).toBe("system");
    expect(out[0]!.content).toBe(`Functions you can call: [${JSON.stringify(weather.function)}]\nTo call one, reply with only {"tool_call": {"name": <name>, "arguments": <object>}}`);
    expect(out[2]).toEqual({ role: "assistant", content: '{"tool_call":{"name":"get_weather","arguments":{"city":"Paris","days":1}}}' });
    expect(out[3]).toEqual({ role: "user", content: '{"tool_response":{"name":"get_weather","content":"sunny"}}' });
    // An existing system turn gets the tools appended.
    expect(genericMessages([{ role: "system", content: "Be brief." }, ...history], [weather], false)[0]!.content).toMatch(/^Be brief\.\n\nFunctions you can call: \[/);
  });

  it("tool_choice none: no tools rendered, no grammar, replies never read as calls", () => {
    const p = toolPlanFor(HERMES, { messages: history, tools: [weather], tool_choice: "none" });
    expect(p.tools).toBeUndefined();
    expect(p.grammar).toBeUndefined();
    expect(p.names).toBeNull();
  });

  it("a named function narrows the grammar to it", () => {
    const p = toolPlanFor(HERMES, { messages: history, tools: [weather, time], tool_choice: { type: "function", function: { name: "get_time" } } });
    expect(p.grammar?.param).toBe("tool_choice");
    expect(accepts(p.grammar!.gbnf, '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>')).toBe(true);
    expect(accepts(p.grammar!.gbnf, '<tool_call>\n{"name": "get_weather", "arguments": {"city": "a", "days": 1}}\n</tool_call>')).toBe(false);
  });
});
