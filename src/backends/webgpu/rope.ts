/// <reference types="@webgpu/types" />
// The webgpu backend's RoPE: the host-computed cos/sin table (ggmlRopeTable) kept on the device while its positions and parameters stay the same, and the rotation dispatch.
import type { RopeParams } from "../backend";
import { ggmlRopeTable } from "../rope-table";
import type { GpuBuffer, GpuVector } from "./buffers";
import { groupsOf, type GpuContext } from "./context";

export class GpuRope {
  /** The table on the device: its key, and the submission count when a dispatch last bound it. */
  private readonly cache: { key: string; buffer?: GPUBuffer; usedAt: number } = { key: "", usedAt: -1 };

  constructor(private readonly ctx: GpuContext) {}

  /** Rotates nTokens rows of x at positions pos0.. (`factors`: p.freqFactors as this backend's vector). */
  record(xb: GpuBuffer, nTokens: number, pos0: number, p: RopeParams, factors: GpuVector | undefined): void {
    if (p.ropeDims % 2 !== 0 || p.ropeDims > p.headDim) throw new RangeError(`rope: ropeDims ${p.ropeDims} must be even and at most headDim ${p.headDim}`);
    const pairs = nTokens * p.nHeads * (p.ropeDims / 2);
    this.ctx.run("rope", [this.table(nTokens, pos0, p, factors), xb.gpu], { a: [nTokens, p.nHeads, p.headDim, p.ropeDims], b: [0, p.style === "neox" ? 1 : 0] }, groupsOf(pairs));
    xb.version++;
  }

  /** The cos/sin table of these positions (ggmlRopeTable), uploaded when it changes: q and k of every layer share it. */
  private table(nTokens: number, pos0: number, p: RopeParams, factors: GpuVector | undefined): GPUBuffer {
    if (factors && !factors.host) throw new Error(`rope: frequency factors ${factors.name} are too long to keep on the host`);
    const { ctx, cache } = this;
    const key = `${nTokens}:${pos0}:${p.ropeDims}:${p.freqBase}:${p.freqScale}:${factors?.name ?? ""}`;
    const bytes = nTokens * p.ropeDims * 4;
    if (key !== cache.key || bytes > (cache.buffer?.size ?? 0)) {
      const table = ggmlRopeTable(nTokens, pos0, p, factors?.host);
      if (bytes > (cache.buffer?.size ?? 0)) {
        if (cache.buffer) ctx.pool.give(cache.buffer);
        cache.buffer = ctx.pool.take(Math.max(bytes, 4096));
      }
      // Work recorded with the previous table must be submitted before the write lands. Each forward step reads its
      // logits back (one submission), so a new step finds the table's last use already submitted: no extra flush.
      if (cache.usedAt === ctx.rec.submissions) ctx.rec.flush();
      ctx.device.queue.writeBuffer(cache.buffer!, 0, table.buffer, table.byteOffset, table.byteLength);
      cache.key = key;
    }
    cache.usedAt = ctx.rec.submissions;
    return cache.buffer!;
  }
}
