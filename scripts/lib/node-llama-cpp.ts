// node-llama-cpp installed outside the project (NODE_LLAMA_CPP_DIR, default /tmp/llcpp), for the tokenizer golden scripts.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** Its package version, the llama.cpp release it ships (llama.cpp.info.json), and its module, typed as `M` by the caller. */
export async function importNodeLlamaCpp<M>(): Promise<{ pkg: { version: string }; info: { tag: string; llamaCppGithubRepo: string }; mod: M }> {
  const dir = process.env.NODE_LLAMA_CPP_DIR ?? "/tmp/llcpp";
  const pkgDir = join(dir, "node_modules", "node-llama-cpp");
  const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string };
  const info = JSON.parse(readFileSync(join(pkgDir, "llama", "llama.cpp.info.json"), "utf8")) as { tag: string; llamaCppGithubRepo: string };
  const mod = (await import(pathToFileURL(join(pkgDir, "dist", "index.js")).href)) as M;
  return { pkg, info, mod };
}
