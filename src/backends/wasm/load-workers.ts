// Workers loader: the .wasm files are imported statically (wrangler's CompiledWasm rule hands us WebAssembly.Module),
// since workerd forbids compiling wasm bytes at run time.
import simd128 from "../../../build/kernels/simd128.wasm";
import relaxed from "../../../build/kernels/relaxed.wasm";
import { registerKernelModules } from "./kernel-modules";

registerKernelModules({ simd128, relaxed });
