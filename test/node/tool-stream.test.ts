// The incremental tool-call scanner (names as soon as complete, arguments fragments that add up to the parsed reply's arguments in every format, however the text is split), and template tools held by a session.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ToolFormat } from "../../src/tools/format";
import { parseToolCalls } from "../../src/tools/parse";
import { ToolCallScanner, type ScanEvent } from "../../src/tools/stream-scan";
import { renderTemplate } from "../../src/session/chat";
import { templateToolsHeld } from "../../src/tools/session-tools";
import { HERMES, LLAMA3 } from "../helpers/tool-templates";

const NAMES = new Set(["get_weather", "get_time"]);

/** Feeds `text` cut at `cuts` (sorted offsets) and gathers each call's name and arguments fragments. */
function feed(format: ToolFormat, text: string, cuts: readonly number[]) {
  const scanner = new ToolCallScanner(format);
  const events: ScanEvent[] = [];
  let at = 0;
  for (const c of [...cuts, text.length]) {
    events.push(...scanner.push(text.slice(at, c)));
    at = c;
  }
  const calls: { name: string; fragments: string[] }[] = [];
  for (const e of events) {
    if (e.kind === "name") {
      expect(calls[e.call]).toBeUndefined(); // one name event per call, before its arguments
      calls[e.call] = { name: e.name, fragments: [] };
    } else calls[e.call]!.fragments.push(e.text);
  }
  return calls;
}

// Arguments objects as a model might write them: nested values, strings with braces, quotes, escapes and unicode, any spacing.
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ unit: fc.constantFrom("a", "{", "}", "[", "]", '"', "\\", ":", ",", " ", "é", "😀", "\n") }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 3 }),
    tie("object"),
  ),
  object: fc.dictionary(fc.string({ unit: fc.constantFrom("k", "{", '"', " ", "name") , maxLength: 4 }), tie("value"), { maxKeys: 3 }),
}));
const spaced = (v: unknown, indent: number) => JSON.stringify(v, null, indent);

/** One call's text in the format, its arguments written with `indent` (0: compact). */
function callText(format: ToolFormat, name: string, args: Record<string, unknown>, indent: number): { text: string; args: string } {
  const a = spaced(args, indent);
  const key = format === "llama3" ? "parameters" : "arguments";
  const call = `{"name": ${JSON.stringify(name)}, "${key}": ${a}}`;
  const text = format === "hermes" ? `<tool_call>\n${call}\n</tool_call>` : format === "llama3" ? call : `{"tool_call": ${call}}`;
  return { text, args: a };
}

describe("the incremental tool-call scanner", () => {
  it("every format: split anywhere, the fragments concatenate to the parsed reply's arguments (the model's own bytes)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ToolFormat>("hermes", "llama3", "generic"),
        fc.constantFrom("get_weather", "get_time"),
        jsonValue.object as fc.Arbitrary<Record<string, unknown>>,
        fc.constantFrom(0, 1, 2),
        fc.array(fc.nat(), { maxLength: 12 }),
        (format, name, args, indent, rawCuts) => {
          const { text, args: argsText } = callText(format, name, args, indent);
          const cuts = [...new Set(rawCuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const calls = feed(format, text, cuts);
          const parsed = parseToolCalls(format, text, NAMES);
          expect(parsed?.calls).toEqual([{ name, arguments: argsText }]);
          expect(calls).toHaveLength(1);
          expect(calls[0]!.name).toBe(name);
          expect(calls[0]!.fragments.join("")).toBe(parsed!.calls[0]!.arguments);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("every single split point of a fixed call in each format (and parallel calls) gives the same arguments", () => {
    const cases: [ToolFormat, string, string[]][] = [
      ["hermes", 'Let me see.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Pa}ris\\"", "days": 2}}\n</tool_call>\n<tool_call>\n{"arguments": {"zone": "UTC"}, "name": "get_time"}\n</tool_call>', ['{"city": "Pa}ris\\"", "days": 2}', '{"zone": "UTC"}']],
      ["llama3", '<|python_tag|> {"name": "get_weather", "parameters": {"city": "{\\"x\\"", "days": [1, {"a": 2}]}}', ['{"city": "{\\"x\\"", "days": [1, {"a": 2}]}']],
      ["generic", '{"tool_calls": [{"name": "get_weather", "arguments": {"city": "Oslo", "days": 3}}, {"name": "get_time", "arguments": { }}]}', ['{"city": "Oslo", "days": 3}', "{ }"]],
    ];
    for (const [format, text, args] of cases) {
      const parsed = parseToolCalls(format, text, NAMES)!;
      expect(parsed.calls.map((c) => c.arguments)).toEqual(args); // the model's bytes, written out here by hand
      for (let a = 0; a <= text.length; a++) {
        for (const b of [a, Math.min(text.length, a + 1), Math.min(text.length, a + 7)]) {
          const calls = feed(format, text, [...new Set([a, b])]);
          expect(calls.map((c) => ({ name: c.name, arguments: c.fragments.join("") }))).toEqual(parsed.calls);
        }
      }
    }
  });

  it("the name comes out as soon as it is complete, before any arguments text, and arguments come out as they grow", () => {
    const s = new ToolCallScanner("hermes");
    expect(s.push('<tool_call>\n{"name": "get_wea')).toEqual([]);
    expect(s.push('ther"')).toEqual([{ kind: "name", call: 0, name: "get_weather" }]);
    expect(s.push(', "arguments": {"ci')).toEqual([{ kind: "args", call: 0, text: '{"ci' }]);
    expect(s.push('ty": "X"}')).toEqual([{ kind: "args", call: 0, text: 'ty": "X"}' }]);
    expect(s.push('}\n</tool_call>')).toEqual([]); // after the arguments object: nothing
  });

  it("arguments before the name are held until the name is known; text that is no call yields nothing", () => {
    const s = new ToolCallScanner("generic");
    expect(s.push('{"tool_call": {"arguments": {"a": 1}, ')).toEqual([]);
    expect(s.push('"name": "get_time"}}')).toEqual([
      { kind: "name", call: 0, name: "get_time" },
      { kind: "args", call: 0, text: '{"a": 1}' },
    ]);
    expect(new ToolCallScanner("generic").push('Once {"tool_call": {"name": "x", "arguments": {}}}')).toEqual([]);
    expect(new ToolCallScanner("llama3").push('{"answer": {"name": "x", "arguments": {}}}')).toEqual([]); // nested: not a call
    expect(new ToolCallScanner("hermes").push('{"name": "get_time", "arguments": {}}')).toEqual([]); // no <tool_call> tag
  });
});

describe("template tools in a session", () => {
  const weather = { type: "function" as const, function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } };
  const time = { type: "function" as const, function: { name: "get_time" } };
  const specials = { bos: "", eos: "" };

  it("the session's first request rendered these tools: held; other tools, changed ones or none: not", () => {
    // The session's first turn had its own system text: the template's default one ("You are helpful.") is not compared.
    const first = renderTemplate(HERMES, [{ role: "system", content: "Be brief." }, { role: "user", content: "Weather in Oslo?" }], specials, [weather, time]);
    expect(templateToolsHeld(HERMES, specials, [weather, time], first)).toBe(true);
    expect(templateToolsHeld(HERMES, specials, [weather], first)).toBe(false); // this template lists the tools on one line: another list
    expect(templateToolsHeld(HERMES, specials, [{ ...weather, function: { ...weather.function, description: "Rain" } }, time], first)).toBe(false);
    expect(templateToolsHeld(HERMES, specials, [{ type: "function", function: { name: "get_tide" } }], first)).toBe(false);
    const plain = renderTemplate(HERMES, [{ role: "user", content: "Weather in Oslo?" }], specials);
    expect(templateToolsHeld(HERMES, specials, [weather], plain)).toBe(false);
  });

  it("a template that renders no tools text has nothing to compare: held", () => {
    const first = renderTemplate(LLAMA3, [{ role: "user", content: "Weather in Oslo?" }], specials);
    expect(templateToolsHeld(LLAMA3, specials, [weather], first)).toBe(true);
  });
});
