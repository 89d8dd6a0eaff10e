// readGgufHeader: the header from a prefix of the file matches the whole-file reader; a short prefix asks for more.
import { describe, expect, it } from "vitest";
import { GgufError, GgufHeaderTooLarge, readGguf, readGgufHeader, tensorData, type GgufFile } from "../../src/gguf/index";
import { CORE_MODELS, KQUANT_MODELS, LLAMA2_RANDOM, optionalFixtures, readFixture as readModelFile } from "../helpers/fixtures";

const larger = optionalFixtures([LLAMA2_RANDOM, ...KQUANT_MODELS]);
const files: string[] = [...CORE_MODELS, ...(larger.available ? [LLAMA2_RANDOM, ...KQUANT_MODELS] : [])];

const layout = (f: GgufFile) => ({ version: f.version, alignment: f.alignment, dataOffset: f.dataOffset, metadata: f.metadata, tensors: f.tensors });

describe("readGgufHeader", () => {
  it("covers every model file, oracle files included when present", () => {
    expect(files.filter((f) => f.startsWith("oracle/")).length).toBe(larger.available ? 13 : 0);
    expect(files).toContain("stories260K.gguf");
  });

  it.each(files)("%s: metadata and tensor infos from a prefix equal the whole-file reader's", (name) => {
    const bytes = readModelFile(name);
    const whole = readGguf(bytes);
    const header = readGgufHeader(bytes.subarray(0, whole.dataOffset), bytes.byteLength);
    expect(layout(header)).toEqual(layout(whole));
    expect([...header.tensorByName.keys()]).toEqual([...whole.tensorByName.keys()]);
    expect(header.fileSize).toBe(bytes.byteLength);
    // The whole file as the "prefix" gives a header whose tensor views work.
    const full = readGgufHeader(bytes, bytes.byteLength);
    expect(tensorData(full, whole.tensors[0]!)).toEqual(tensorData(whole, whole.tensors[0]!));
  });

  it("a prefix that ends inside the header fails with GgufHeaderTooLarge naming its length; once long enough it parses", () => {
    const bytes = readModelFile("stories260K.gguf");
    const whole = readGguf(bytes);
    let shortest = -1;
    for (let n = 0; n <= whole.dataOffset; n += 13) {
      try {
        readGgufHeader(bytes.subarray(0, n), bytes.byteLength);
        if (shortest < 0) shortest = n;
      } catch (e) {
        expect(shortest, `prefix of ${n} failed after ${shortest} parsed`).toBe(-1);
        expect(e).toBeInstanceOf(GgufHeaderTooLarge);
        expect((e as GgufHeaderTooLarge).prefixBytes).toBe(n);
        expect((e as Error).message).toMatch(new RegExp(`^header larger than ${n} bytes: `));
      }
    }
    // Only the alignment padding after the tensor infos may be missing.
    expect(shortest).toBeGreaterThan(whole.dataOffset - whole.alignment);
  });

  it("tensor data is checked against the real file size, not the prefix", () => {
    const bytes = readModelFile("stories260K-Q8_0.gguf");
    const whole = readGguf(bytes);
    const prefix = bytes.subarray(0, whole.dataOffset);
    const dataEnd = whole.dataOffset + Math.max(...whole.tensors.map((t) => t.offset + t.nBytes));
    expect(readGgufHeader(prefix, dataEnd).fileSize).toBe(dataEnd);
    const err = (() => {
      try {
        readGgufHeader(prefix, dataEnd - 1);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(GgufError);
    expect(err).not.toBeInstanceOf(GgufHeaderTooLarge);
    expect((err as Error).message).toMatch(/runs past the end of the data section/);
    // A view past the prefix is refused rather than clamped.
    const header = readGgufHeader(prefix, bytes.byteLength);
    expect(() => tensorData(header, header.tensors[0]!)).toThrowError(/runs past the end of this file/);
  });

  it("counts are checked against the file size even when the prefix is short", () => {
    const bytes = readModelFile("stories260K.gguf").slice(0, 64);
    // 60000 metadata entries cannot fit in a 1000-byte file: the absurd count is reported, not "header larger".
    new DataView(bytes.buffer).setBigUint64(16, 60000n, true);
    expect(() => readGgufHeader(bytes, 1000)).toThrowError(/absurd count: 60000 metadata entries/);
    expect(() => readGgufHeader(bytes.subarray(0, 2), 1 << 20)).toThrowError(GgufHeaderTooLarge);
  });

  it("a file size smaller than the prefix, or not an integer, is refused", () => {
    const bytes = readModelFile("stories260K.gguf").subarray(0, 100);
    expect(() => readGgufHeader(bytes, 99)).toThrowError(/file size must be an integer of at least the 100 bytes given, got 99/);
    expect(() => readGgufHeader(bytes, 1.5e3 + 0.5)).toThrowError(/file size must be an integer/);
  });
});
