// FNV-1a hash of a token id list: the relabelled-vocabulary entries of test/fixtures/tokenizer-golden-bpe.json.

/** FNV-1a (32-bit) over each id's 4 little-endian bytes, as 8 hex digits. */
export function idsHash(ids: readonly number[]): string {
  let h = 0x811c9dc5;
  for (const id of ids) {
    for (let k = 0; k < 4; k++) {
      h ^= (id >>> (8 * k)) & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  return h.toString(16).padStart(8, "0");
}
