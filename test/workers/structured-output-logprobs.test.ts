// Structured output with logprobs and logit_bias: log-probabilities come from the masked distribution, and logit_bias applies before the mask.
import { beforeAll, describe, expect, it } from "vitest";
import { call, json, seedModel } from "./helpers";

beforeAll(seedModel);

const complete = (body: Record<string, unknown>, status = 200) => call("POST", "/v1/completions", { temperature: 1, ...body }).then((r) => json(r, status));
const chat = (body: Record<string, unknown>, status = 200) => call("POST", "/v1/chat/completions", { temperature: 1, ...body }).then((r) => json(r, status));
const YES_NO = 'root ::= ("yes" | "no")';

describe("grammar with logprobs and logit_bias", () => {
  it("top_logprobs hold only tokens the grammar allows, and the allowed tokens' probabilities sum to 1", async () => {
    // Chat's list form: the legacy completions form is a dict by token text, where a piece and its byte token ("n", <0x6E>) share a key.
    const r = await chat({ messages: [{ role: "user", content: "Is it a dog?" }], seed: 2, max_tokens: 5, logprobs: true, top_logprobs: 20, response_format: { type: "text" }, grammar: YES_NO });
    expect(["yes", "no"]).toContain(r.choices[0].message.content);
    const first = r.choices[0].logprobs.content[0].top_logprobs as { token: string; logprob: number }[];
    for (const t of first) expect("yes".startsWith(t.token) || "no".startsWith(t.token), t.token).toBe(true);
    expect(first.reduce((a, t) => a + Math.exp(t.logprob), 0)).toBeCloseTo(1, 3);
  });

  it("logit_bias applies first: banning every first token of one branch leaves the other", async () => {
    // stories260K (SentencePiece) has no "ye" or "yes" piece: "yes" starts with the piece "y" (422) or the byte token <0x79> (124).
    const yes = [422, 124];
    const bias = Object.fromEntries(yes.map((id) => [String(id), -100]));
    for (const seed of [1, 2, 3, 4]) {
      const free = await complete({ prompt: "Is it a dog?", seed, max_tokens: 5, grammar: YES_NO });
      expect(["yes", "no"]).toContain(free.choices[0].text);
      const banned = await complete({ prompt: "Is it a dog?", seed, max_tokens: 5, grammar: YES_NO, logit_bias: bias });
      expect(banned.choices[0].text).toBe("no");
    }
  });
});
