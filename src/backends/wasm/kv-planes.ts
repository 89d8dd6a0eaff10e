// A KV cache's positions as bytes in Backend.readKvBytes's layout ([layer][k|v][pos][row]), copied out of or into linear memory.
import type { WasmKvCache } from "./wasm-handles";

/** Calls `copy(address, offset, span)` for each layer's K then V plane: where positions pos0.. start in memory and in the bytes. */
function eachPlane(c: WasmKvCache, pos0: number, n: number, copy: (address: number, offset: number, span: number) => void): void {
  const span = n * c.rowBytes;
  for (let l = 0, o = 0; l < c.layout.nLayers; l++) {
    for (const plane of [c.k(l), c.v(l)]) {
      copy(plane + pos0 * c.rowBytes, o, span);
      o += span;
    }
  }
}

/** Positions pos0..pos0+n of every layer, K and V, as one byte array. */
export function readKvPlanes(u8: Uint8Array, c: WasmKvCache, pos0: number, n: number): Uint8Array {
  const out = new Uint8Array(c.layout.nLayers * 2 * n * c.rowBytes);
  eachPlane(c, pos0, n, (at, o, span) => out.set(u8.subarray(at, at + span), o));
  return out;
}

/** The inverse of readKvPlanes: the bytes go back into their planes (lengths and positions checked first). */
export function writeKvPlanes(u8: Uint8Array, c: WasmKvCache, pos0: number, n: number, data: Uint8Array): void {
  const want = c.layout.nLayers * 2 * n * c.rowBytes;
  if (data.byteLength !== want) throw new RangeError(`writeKvBytes: expected ${want} bytes, got ${data.byteLength}`);
  if (pos0 < 0 || pos0 + n > c.layout.nCtx) throw new RangeError(`writeKvBytes: positions ${pos0}..${pos0 + n} exceed the context of ${c.layout.nCtx}`);
  eachPlane(c, pos0, n, (at, o, span) => u8.set(data.subarray(o, o + span), at));
}
