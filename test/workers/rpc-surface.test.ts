// The session object's RPC surface is the contract (SessionRpc): test hooks and internal helpers cannot be called on a stub.
import { env, runInDurableObject } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { EVICT, LlamaSession } from "../../src/session/llama-session";
import { createSession, seedModel } from "./helpers";

beforeAll(seedModel);

/** The contract's methods (src/protocol/session-rpc.ts). */
const SESSION_RPC = ["create", "destroy", "forkTo", "generate", "importPage", "importState", "info", "rewind"];

describe("session RPC surface", () => {
  // workerd's rule: a stub reaches the string-named members of the class's prototype, nothing else (instance fields,
  // #private methods and symbol-keyed methods stay out). Calling anything else over RPC rejects with "The RPC receiver
  // does not implement …" (the test pool reports such rejections as unhandled errors, so the rule is checked here).
  it("the prototype's string-named methods are exactly SessionRpc: no evict, no ContextOwner methods, no helpers", () => {
    const names = Object.getOwnPropertyNames(LlamaSession.prototype).filter((n) => n !== "constructor");
    expect(names.sort()).toEqual(SESSION_RPC);
    expect(Object.getOwnPropertySymbols(LlamaSession.prototype)).toEqual([EVICT]);
  });

  it("the symbol-keyed hook works where a test holds the instance, and the object then restores from storage", async () => {
    const s = await createSession({ temperature: 0 });
    const stub = env.SESSIONS.getByName(s.id);
    const gen = await stub.generate({ text: "Once", maxTokens: 4 });
    if (!gen.ok) throw new Error(gen.error.message);
    await gen.value.events.pipeTo(new WritableStream());
    expect(await runInDurableObject(stub, (instance: LlamaSession) => instance[EVICT]())).toBe(true);
    const info = await stub.info();
    expect(info.ok && info.value.tokenCount).toBeGreaterThan(4);
  });
});
