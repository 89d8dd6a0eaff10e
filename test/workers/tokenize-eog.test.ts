// End of generation over HTTP: a reply that reaches the vocabulary's EOG token ends with finish_reason "stop" (OpenAI)
// or "eos" (a session's last_finish_reason), the token's text never shows, and the session keeps it. logit_bias forces it.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { readGguf } from "../../src/gguf/index";
import { createTokenizer } from "../../src/tokenizer/index";
import { call, createSession, json, parseSse, seedModel } from "./helpers";

const tok = createTokenizer(readGguf(new Uint8Array(env.TEST_MODEL_STORIES260K)));
const EOG = [...tok.eogIds][0]!;

beforeAll(seedModel);

describe("end of generation over HTTP (stories260K: </s>)", () => {
  it("the EOG set is </s>", () => {
    expect([...tok.eogIds]).toEqual([2]);
    expect(tok.tokenText(EOG)).toBe("</s>");
  });

  it("/v1/completions and /v1/chat/completions: finish_reason stop, the EOG token counted, its text not shown", async () => {
    const bias = { logit_bias: { [String(EOG)]: 100 } };
    const text = await json(await call("POST", "/v1/completions", { prompt: "Once upon a time", max_tokens: 8, ...bias }));
    expect(text.choices[0]).toMatchObject({ text: "", finish_reason: "stop" });
    expect(text.usage.completion_tokens).toBe(1);
    const chat = await json(await call("POST", "/v1/chat/completions", { messages: [{ role: "user", content: "Hi" }], max_tokens: 8, ...bias }));
    expect(chat.choices[0]).toMatchObject({ message: { content: "" }, finish_reason: "stop" });
    const stream = parseSse(await (await call("POST", "/v1/chat/completions", { messages: [{ role: "user", content: "Hi" }], max_tokens: 8, stream: true, ...bias })).text());
    const finishes = stream.filter((f) => f.data !== "[DONE]").map((f) => JSON.parse(f.data).choices[0]?.finish_reason).filter(Boolean);
    expect(finishes).toEqual(["stop"]);
  });

  it("in a session: the EOG token is kept and the session reports finish eos (the native API's name for it)", async () => {
    const s = await createSession({ temperature: 0 });
    const prompt = "Once upon a time";
    const out = await json(await call("POST", "/v1/completions", { session_id: s.id, prompt, max_tokens: 4, logit_bias: { [String(EOG)]: 100 } }));
    expect(out.choices[0].finish_reason).toBe("stop");
    const info = await json(await call("GET", `/v1/sessions/${s.id}`));
    expect(info).toMatchObject({ last_finish_reason: "eos", token_count: tok.encode(prompt, { addBos: true }).length + 1, text: prompt });
  });
});
