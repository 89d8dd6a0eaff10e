// The plain chat template in a session: each request's turns start on their own line after the reply the session holds.
import { beforeAll, describe, expect, it } from "vitest";
import { call, createSession, json, seedModel } from "./helpers";

describe("plain template, continued session", () => {
  beforeAll(seedModel);

  it("a reply cut by max_tokens is followed by a new line, then the next user turn", async () => {
    const s = await createSession();
    const ask = async (content: string) =>
      json(await call("POST", "/v1/chat/completions", { messages: [{ role: "user", content }], max_tokens: 9, temperature: 0 }, { "x-session-id": s.id }));
    const first = await ask("Where did Lily go?");
    expect(first.choices[0].finish_reason).toBe("length");
    const reply = first.choices[0].message.content as string;
    expect(reply.endsWith("\n")).toBe(false);
    await ask("And then?");
    const held = await json(await call("GET", `/v1/sessions/${s.id}`));
    // The session holds the reply as generated (the answer's content is trimmed), then the new turn on its own line.
    const at = held.text.indexOf(reply.trim());
    expect(at).toBeGreaterThan(0);
    expect(held.text.slice(at + reply.trim().length)).toMatch(/^ ?\nUser: And then\?\nAssistant:/);
    expect(held.text.match(/User:/g)).toHaveLength(2);
    expect(held.text.split("\n").filter((l: string) => l.includes("User:")).every((l: string) => l.startsWith("User:"))).toBe(true);
  });
});
