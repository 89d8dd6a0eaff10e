// Compiles the AssemblyScript kernels twice (SIMD128 and relaxed SIMD) into build/kernels/; skips when up to date.
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const srcDir = join(root, "kernels", "wasm");
const outDir = join(root, "build", "kernels");
const entry = join(srcDir, "index.ts");

/** Same sources, two feature sets: the backend picks one at start-up with WebAssembly.validate. */
const BUILDS = [
  { name: "simd128", flags: ["--enable", "simd"] },
  { name: "relaxed", flags: ["--enable", "simd", "--enable", "relaxed-simd"] },
];
// Stub runtime: the kernels allocate nothing (the TS side owns linear memory); no asserts; no abort import.
const COMMON = ["--runtime", "stub", "-O3", "--noAssert", "--use", "abort="];

const mtime = (p) => {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
};
const inputs = [...readdirSync(srcDir).map((f) => join(srcDir, f)), fileURLToPath(import.meta.url)];
const newestInput = Math.max(...inputs.map(mtime));
const force = process.argv.includes("--force");

mkdirSync(outDir, { recursive: true });
for (const build of BUILDS) {
  const out = join(outDir, `${build.name}.wasm`);
  if (!force && mtime(out) > newestInput) {
    console.log(`kernels: build/kernels/${build.name}.wasm is up to date`);
    continue;
  }
  const args = [entry, ...COMMON, ...build.flags, "-o", out, "-t", join(outDir, `${build.name}.wat`)];
  const { error, stderr } = await asc.main(args);
  if (error) {
    console.error(stderr.toString());
    console.error(`kernels: ${build.name} build failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`kernels: built build/kernels/${build.name}.wasm (${statSync(out).size} bytes)`);
}
