// Static .wasm imports resolve to a compiled WebAssembly.Module (wrangler's CompiledWasm module rule).
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
