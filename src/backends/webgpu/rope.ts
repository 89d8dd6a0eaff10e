/// <reference types="@webgpu/types" />
// The webgpu backend's RoPE: the host-computed cos/sin table (ggmlRopeTable) kept on the device while its positions and parameters stay the same, and the rotation dispatch.
import type { RopeParams } from "../backend";
import { ggmlRopeTable } from "../rope-table";
import type { GpuBuffer } from "./buffers";
import { groupsOf, type GpuContext } from "./context";

export class GpuRope {
  /**
   * The table on the device: its key (positions and parameters), the frequency factors it folds in (compared by
   * identity: RopeParams.freqFactors is never modified), and the submission count when a dispatch last bound it.
   */
  private readonly cache: { key: string; factors?: Float32Array; buffer?: GPUBuffer; usedAt: number } = { key: "", usedAt: -1 };

  constructor(private readonly ctx: GpuContext) {}

  /** Rotates nTokens rows of x at positions pos0.. (p.freqFactors, host floats, go into the table: no device copy). */
  record(xb: GpuBuffer, nTokens: number, pos0: number, p: RopeParams): void {
    if (p.ropeDims % 2 !== 0 || p.ropeDims > p.headDim) throw new RangeError(`rope: ropeDims ${p.ropeDims} must be even and at most headDim ${p.headDim}`);
    const pairs = nTokens * p.nHeads * (p.ropeDims / 2);
    this.ctx.run("rope", [this.table(nTokens, pos0, p), xb.gpu], { a: [nTokens, p.nHeads, p.headDim, p.ropeDims], b: [0, p.style === "neox" ? 1 : 0] }, groupsOf(pairs));
    xb.version++;
  }

  /** The cos/sin table of these positions (ggmlRopeTable), uploaded when it changes: q and k of every layer share it. */
  private table(nTokens: number, pos0: number, p: RopeParams): GPUBuffer {
    const { ctx, cache } = this;
    const factors = p.freqFactors;
    const key = `${nTokens}:${pos0}:${p.ropeDims}:${p.freqBase}:${p.freqScale}`;
    const bytes = nTokens * p.ropeDims * 4;
    if (key !== cache.key || factors !== cache.factors || bytes > (cache.buffer?.size ?? 0)) {
      const table = ggmlRopeTable(nTokens, pos0, p, factors);
      if (bytes > (cache.buffer?.size ?? 0)) {
        if (cache.buffer) ctx.pool.give(cache.buffer);
        cache.buffer = ctx.pool.take(Math.max(bytes, 4096));
      }
      // Work recorded with the previous table must be submitted before the write lands. Each forward step reads its
      // logits back (one submission), so a new step finds the table's last use already submitted: no extra flush.
      if (cache.usedAt === ctx.rec.submissions) ctx.rec.flush();
      ctx.device.queue.writeBuffer(cache.buffer!, 0, table.buffer, table.byteOffset, table.byteLength);
      cache.key = key;
      cache.factors = factors;
    }
    cache.usedAt = ctx.rec.submissions;
    return cache.buffer!;
  }
}
