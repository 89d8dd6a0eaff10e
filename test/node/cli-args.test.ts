// Flag parsing shared by the scripts: values, booleans, numbers, and errors for unknown or malformed flags.
import { describe, expect, it } from "vitest";
import { parseFlags, UsageError } from "../../scripts/lib/args";

const spec = { model: "string", "max-tokens": "number", json: "boolean" } as const;

describe("parseFlags", () => {
  it("reads --name value, --name=value, booleans and positionals", () => {
    const { flags, positional } = parseFlags(["pull-me", "--model", "a.gguf", "--max-tokens=12", "--json"], spec);
    expect(flags).toEqual({ model: "a.gguf", "max-tokens": 12, json: true });
    expect(positional).toEqual(["pull-me"]);
  });

  it.each([
    [["--nope"], /unknown option --nope; known: --model, --max-tokens, --json/],
    [["--model"], /--model needs a value/],
    [["--max-tokens", "many"], /--max-tokens must be a number, got "many"/],
    [["--max-tokens", ""], /--max-tokens must be a number/],
  ])("%j is a UsageError", (argv, message) => {
    expect(() => parseFlags(argv, spec)).toThrowError(UsageError);
    expect(() => parseFlags(argv, spec)).toThrowError(message);
  });
});
