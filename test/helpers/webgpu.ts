// The webgpu backend for tests, or the loud reason there is none (a failure where CI expects an adapter).
import "../../scripts/lib/gpu-node";
import { WebGpuBackend } from "../../src/backends/webgpu/webgpu-backend";

export interface TestGpu {
  backend: WebGpuBackend | null;
  reason: string;
}

let cached: Promise<TestGpu> | undefined;

/** One backend per test file; without an adapter, a warning (locally) or an error (CI=true, EDGE_LLAMA_REQUIRE_WEBGPU=1). */
export function webGpuForTests(): Promise<TestGpu> {
  return (cached ??= (async () => {
    try {
      const backend = await WebGpuBackend.create();
      return { backend, reason: "" };
    } catch (e) {
      const reason = `no WebGPU adapter (${(e as Error).message}); on Debian install libegl-dev libegl-mesa0 libgl1-mesa-dri (see .ci/run)`;
      // CI (and .ci/run, which installs the software adapter) expects an adapter: then its absence is a failure.
      if (process.env.CI === "true" || process.env.EDGE_LLAMA_REQUIRE_WEBGPU === "1") throw new Error(`CI expects a WebGPU adapter: ${reason}`);
      console.warn(`\n*** webgpu tests SKIPPED: ${reason} ***\n`);
      return { backend: null, reason };
    }
  })());
}
