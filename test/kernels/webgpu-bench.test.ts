// `npm run bench` rows for webgpu: a row of the right shape, and the overhead line that splits dispatch from arithmetic.
import { expect, it } from "vitest";
import { runBench } from "../../scripts/lib/bench-run";
import { webGpuForTests } from "../helpers/webgpu";

const gpu = await webGpuForTests();

it.skipIf(!gpu.backend)("a webgpu bench row with measured speeds and the dispatch-overhead baseline", async () => {
  const lines: string[] = [];
  const rows = await runBench({ models: ["tiny-Q8_0"], backends: ["webgpu"], runtimes: ["node"], prefill: 8, decode: 4, runs: 1, warmup: 0, log: (l) => lines.push(l) });
  expect(rows).toHaveLength(1);
  const row = rows[0]!;
  expect(row.backend).toBe("webgpu");
  expect(row.type).toBe("Q8_0");
  expect(row.prefill_tokens_per_s).toBeGreaterThan(0);
  expect(row.decode_tokens_per_s).toBeGreaterThan(0);
  expect(row.weights_bytes).toBeGreaterThan(0);
  expect(lines.find((l) => l.startsWith("webgpu on "))).toMatch(/decode step takes [\d.]+ ms for ~\d+ dispatches .* in 1\.00 submissions; as many no-op dispatches/);
});
