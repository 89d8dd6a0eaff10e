// Prompt-cache block addressing: the sha256 chain over (identity, token prefix), the lookup bound and the block checksum.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BLOCK_TOKENS, blockChecksum, blockHashes, identityKey, lookupBlocks, type CacheIdentity } from "../../src/cache/block-hash";

const ID: CacheIdentity = { model: "stories260K.gguf", etag: "abc", backend: "wasm-relaxed", kvType: "f32", nLayers: 5, nKvHeads: 4, headDim: 8 };
const KEY = identityKey(ID);
const tokens = (n: number, seed = 1) => Array.from({ length: n }, (_, i) => (i * 7919 + seed * 104729) % 512);

describe("prompt cache blocks", () => {
  it("block i's hash is sha256(hash of block i-1 ‖ its tokens as int32 LE), from sha256(identity)", async () => {
    const t = tokens(3 * BLOCK_TOKENS + 5);
    let prev = createHash("sha256").update(KEY).digest();
    const expected: string[] = [];
    for (let i = 0; i < 3; i++) {
      const block = Buffer.alloc(4 * BLOCK_TOKENS);
      for (let j = 0; j < BLOCK_TOKENS; j++) block.writeInt32LE(t[i * BLOCK_TOKENS + j]!, 4 * j);
      prev = createHash("sha256").update(prev).update(block).digest();
      expected.push(prev.toString("hex"));
    }
    expect(await blockHashes(KEY, t, 3)).toEqual(expected);
  });

  it("a block's hash names every token up to its end and nothing after it", async () => {
    const a = tokens(4 * BLOCK_TOKENS);
    const b = [...a];
    b[2 * BLOCK_TOKENS + 3] = (b[2 * BLOCK_TOKENS + 3]! + 1) % 512; // a change inside block 2
    const ha = await blockHashes(KEY, a, 4);
    const hb = await blockHashes(KEY, b, 4);
    expect(hb.slice(0, 2)).toEqual(ha.slice(0, 2));
    expect(hb[2]).not.toBe(ha[2]);
    expect(hb[3]).not.toBe(ha[3]);
    // A longer prompt with the same prefix: the same first hashes (the chain only grows).
    expect((await blockHashes(KEY, [...a, 1, 2, 3], 4))).toEqual(ha);
    expect(new Set(ha).size).toBe(4);
  });

  it("the identity seeds the chain: another etag, backend, KV type or shape never shares a block", async () => {
    const t = tokens(BLOCK_TOKENS);
    const base = (await blockHashes(KEY, t, 1))[0];
    for (const change of [{ etag: "abd" }, { backend: "ref" }, { kvType: "f16" }, { kvType: "q8_0" }, { model: "other.gguf" }, { nLayers: 6 }, { headDim: 16 }]) {
      expect((await blockHashes(identityKey({ ...ID, ...change }), t, 1))[0]).not.toBe(base);
    }
    expect((await blockHashes(identityKey({ ...ID }), t, 1))[0]).toBe(base);
  });

  it("a lookup leaves at least one prompt token to prefill; counts past the tokens are refused", async () => {
    expect([0, 1, 32, 33, 64, 65, 400].map((n) => lookupBlocks(n))).toEqual([0, 0, 0, 1, 1, 2, 12]);
    await expect(blockHashes(KEY, tokens(BLOCK_TOKENS * 2 - 1), 2)).rejects.toThrow(RangeError);
    expect(await blockHashes(KEY, tokens(10), 0)).toEqual([]);
  });

  it("the checksum changes with any flipped bit, a truncation, or another block's hash", async () => {
    const data = new Uint8Array(4096).map((_, i) => (i * 31) & 255);
    const sum = await blockChecksum("h1", data);
    expect(sum).toMatch(/^[0-9a-f]{64}$/);
    expect(await blockChecksum("h1", data.slice())).toBe(sum);
    const flipped = data.slice();
    flipped[1234] ^= 0x08;
    expect(await blockChecksum("h1", flipped)).not.toBe(sum);
    expect(await blockChecksum("h1", data.subarray(0, 4000))).not.toBe(sum);
    expect(await blockChecksum("h2", data)).not.toBe(sum);
  });
});
