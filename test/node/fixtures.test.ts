// The shipped fixtures: pinned by sha256, small, found without a model directory; larger sets skip loudly or fail where required.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CORE_MODELS, findFixture, fixtureDirs, fixturePath, optionalFixtures } from "../helpers/fixtures";

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), "../fixtures");
const sums = readFileSync(join(FIXTURES, "SHA256SUMS"), "utf8")
  .trim()
  .split("\n")
  .map((line) => {
    const [hex, path] = line.split(/\s+/) as [string, string];
    return { hex, path: resolve(FIXTURES, path) };
  });
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("shipped fixtures", () => {
  it.each(sums)("$path matches its pinned sha256", ({ hex, path }) => {
    expect(sha256(path)).toBe(hex);
  });

  it("cover the core models and stay under 10 MB together", () => {
    const pinned = sums.map((s) => s.path);
    expect(pinned).toContain(resolve(FIXTURES, "../../models/stories260K.gguf"));
    for (const m of CORE_MODELS.slice(1)) expect(pinned).toContain(join(FIXTURES, "models", m));
    const total = sums.reduce((n, s) => n + statSync(s.path).size, 0);
    expect(total).toBeLessThan(10 * 2 ** 20);
  });

  it("are found with no model directory set", () => {
    vi.stubEnv("EDGE_LLAMA_MODELS", "");
    expect(fixtureDirs()).toHaveLength(2);
    for (const name of [...CORE_MODELS, "reference-outputs.json", "oracle/stories260K-Q8_0.logits.json"]) {
      expect(sha256(fixturePath(name))).toBe(sums.find((s) => s.path.endsWith(`/${name}`))!.hex);
    }
  });
});

describe("lookup order and larger sets", () => {
  const dir = mkdtempSync(join(tmpdir(), "edge-llama-fixtures-"));
  afterEach(() => vi.unstubAllEnvs());

  it("the model directory wins over the shipped copy", () => {
    writeFileSync(join(dir, "reference-outputs.json"), "{}");
    vi.stubEnv("EDGE_LLAMA_MODELS", dir);
    expect(fixturePath("reference-outputs.json")).toBe(join(dir, "reference-outputs.json"));
    rmSync(join(dir, "reference-outputs.json"));
    expect(fixturePath("reference-outputs.json")).toBe(join(FIXTURES, "models/reference-outputs.json"));
  });

  it("a missing core fixture is an error naming every folder searched", () => {
    vi.stubEnv("EDGE_LLAMA_MODELS", dir);
    expect(() => fixturePath("no-such.gguf")).toThrow(new RegExp(`test fixture no-such\\.gguf not found in ${dir}, `));
  });

  it("a missing larger set is skipped with a warning naming the files, or fails where fixtures are required", () => {
    vi.stubEnv("EDGE_LLAMA_MODELS", dir);
    vi.stubEnv("CI", "");
    vi.stubEnv("EDGE_LLAMA_REQUIRE_FIXTURES", "");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const set = optionalFixtures(["vocab/a.gguf", "reference-outputs.json"]);
    expect(set.available).toBe(false);
    expect(set.reason).toMatch(/^missing test fixture\(s\) vocab\/a\.gguf; .*EDGE_LLAMA_MODELS/);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining("SKIPPED: missing test fixture(s) vocab/a.gguf"));
    warn.mockRestore();
    expect(optionalFixtures(["reference-outputs.json"])).toEqual({ available: true, reason: "" });
    vi.stubEnv("EDGE_LLAMA_REQUIRE_FIXTURES", "1");
    expect(() => optionalFixtures(["vocab/a.gguf"])).toThrow(/fixtures are required here .*vocab\/a\.gguf/);
    vi.stubEnv("EDGE_LLAMA_REQUIRE_FIXTURES", "");
    vi.stubEnv("CI", "true");
    expect(() => optionalFixtures(["vocab/a.gguf"])).toThrow(/fixtures are required here/);
    expect(findFixture("vocab/a.gguf")).toBeUndefined();
  });
});
