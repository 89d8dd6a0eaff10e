// Backend selection with webgpu in the picture: auto prefers webgpu when an adapter exists and the caller allows it,
// else wasm; explicit names override; the sync factory explains that webgpu is asynchronous.
import { describe, expect, it } from "vitest";
import { createBackend, createBackendAsync, BACKEND_NAMES } from "../../src/backends/select";
import { registerGpuAdapterProvider, requestGpuAdapter } from "../../src/backends/webgpu/gpu";
import { webGpuForTests } from "../helpers/webgpu";

const gpu = await webGpuForTests();

describe("backend selection", () => {
  it("lists webgpu and explains that it is created asynchronously", () => {
    expect(BACKEND_NAMES).toContain("webgpu");
    expect(() => createBackend("webgpu")).toThrow(/createBackendAsync/);
    expect(() => createBackend("cuda")).toThrow(/unknown backend "cuda"; available: .*webgpu/);
  });

  it("explicit names override auto-selection", async () => {
    expect((await createBackendAsync("ref")).name).toBe("ref");
    expect((await createBackendAsync("wasm-simd128")).name).toBe("wasm-simd128");
  });

  it("auto without permission for webgpu picks wasm", async () => {
    expect((await createBackendAsync("auto", { allowWebGpu: false })).name).toBe("wasm-relaxed");
  });

  it.skipIf(!gpu.backend)("auto picks webgpu when an adapter exists", async () => {
    expect((await createBackendAsync()).name).toBe("webgpu");
  });

  describe("without an adapter", () => {
    // Last in the file: the provider stays replaced.
    it("auto falls back to wasm, and an explicit webgpu says there is no adapter", async () => {
      registerGpuAdapterProvider(async () => null);
      expect(await requestGpuAdapter()).toBeNull();
      expect((await createBackendAsync("auto")).name).toBe("wasm-relaxed");
      await expect(createBackendAsync("webgpu")).rejects.toThrow(/no WebGPU adapter/);
    });
  });
});
