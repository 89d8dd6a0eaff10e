// src/ is what the Worker ships: no Node builtins, no dev-only packages, nothing imported from scripts/ or test/.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Module specifiers of static and dynamic imports and re-exports (comments stripped first). */
function specifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found = [...code.matchAll(/(?:import|export)\s[^"'`;]*?from\s*["']([^"']+)["']|import\s*\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm)];
  return found.map((m) => m[1] ?? m[2] ?? m[3]!);
}

const packageOf = (spec: string) => (spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);

describe("src/ holds only what the Worker bundles", () => {
  const sources = files(join(ROOT, "src"));

  it("finds the sources", () => expect(sources.length).toBeGreaterThan(50));

  it.each(sources.map((p) => [relative(ROOT, p), p]))("%s imports only runtime dependencies, src/ and the kernel build", (_name, path) => {
    for (const spec of specifiers(readFileSync(path, "utf8"))) {
      if (spec.startsWith(".")) {
        const target = relative(ROOT, resolve(path, "..", spec));
        expect(target.startsWith("src/") || target.startsWith("build/kernels/"), `${spec} leaves src/`).toBe(true);
      } else if (!spec.startsWith("cloudflare:")) {
        expect(Object.keys(pkg.dependencies), `${spec} is not a runtime dependency`).toContain(packageOf(spec));
      }
    }
  });

  it("the checker sees Node builtins and dev packages as outside the runtime", () => {
    expect(specifiers(`import { x } from "node:fs";\nimport "webgpu";\nconst m = await import("../../scripts/lib/a");`)).toEqual(["node:fs", "webgpu", "../../scripts/lib/a"]);
    expect(Object.keys(pkg.dependencies)).not.toContain("webgpu");
  });
});
