// The prompt cache's SQLite: blocks (split into rows under the 2 MB row limit) with checksums, LRU order, counters and the storage ledger.
import { MAX_PAGE_BYTES } from "../engine/kv-pages";
import { blockChecksum } from "./block-hash";
import type { CacheStats, PublishedBlock } from "../protocol/prompt-cache-rpc";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS blocks (hash TEXT PRIMARY KEY, checksum TEXT NOT NULL, bytes INTEGER NOT NULL, parts INTEGER NOT NULL, last_used INTEGER NOT NULL, depth INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS blocks_lru ON blocks (last_used, depth DESC);
CREATE TABLE IF NOT EXISTS block_parts (hash TEXT NOT NULL, part INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (hash, part));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ledger (session TEXT PRIMARY KEY, kv_bytes INTEGER NOT NULL, state_bytes INTEGER NOT NULL);
`;

type Counter = "lookups" | "hit_blocks" | "missed_blocks" | "corrupt_blocks" | "evicted_blocks" | "published_blocks" | "clock";

export class BlockStore {
  constructor(private readonly storage: DurableObjectStorage) {
    this.sql.exec(SCHEMA);
  }

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  private bump(name: Counter, by = 1): number {
    return Number(this.sql.exec("INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value RETURNING value", name, by).one().value);
  }

  private counter(name: Counter): number {
    const rows = this.sql.exec("SELECT value FROM counters WHERE name = ?", name).toArray();
    return rows.length === 0 ? 0 : Number(rows[0]!.value);
  }

  /**
   * The longest run of consecutive blocks, from the first hash on, that are stored and intact. A block whose bytes
   * are not `blockBytes` long or fail their checksum (a poisoned or truncated row) is deleted and counted, and ends
   * the run: the caller computes it again, and publishing it afterwards stores good bytes.
   */
  async lookup(hashes: readonly string[], blockBytes: number): Promise<Uint8Array[]> {
    this.bump("lookups");
    const found: Uint8Array[] = [];
    for (const hash of hashes) {
      const data = await this.read(hash, blockBytes);
      if (!data) break;
      found.push(data);
    }
    this.touch(hashes.slice(0, found.length));
    if (found.length > 0) this.bump("hit_blocks", found.length);
    if (found.length < hashes.length) this.bump("missed_blocks", hashes.length - found.length);
    return found;
  }

  private async read(hash: string, blockBytes: number): Promise<Uint8Array | null> {
    const meta = this.sql.exec("SELECT checksum, bytes, parts FROM blocks WHERE hash = ?", hash).toArray()[0];
    if (!meta) return null;
    const parts = this.sql.exec("SELECT part, data FROM block_parts WHERE hash = ? ORDER BY part", hash).toArray();
    const total = parts.reduce((n, r) => n + (r.data as ArrayBuffer).byteLength, 0);
    let ok = Number(meta.bytes) === blockBytes && total === blockBytes && parts.length === Number(meta.parts) && parts.every((r, i) => Number(r.part) === i);
    const data = new Uint8Array(ok ? total : 0);
    if (ok) {
      let at = 0;
      for (const r of parts) {
        data.set(new Uint8Array(r.data as ArrayBuffer), at);
        at += (r.data as ArrayBuffer).byteLength;
      }
      ok = (await blockChecksum(hash, data)) === String(meta.checksum);
    }
    if (ok) return data;
    this.remove(hash);
    this.bump("corrupt_blocks");
    return null;
  }

  /**
   * A chain's blocks, used now: one stamp for all of them. Eviction takes the oldest stamp first and, within one,
   * the deepest block first, so a chain shrinks from its end and its first blocks (the most shared) stay longest.
   */
  private touch(chain: readonly string[]): void {
    if (chain.length === 0) return;
    const stamp = this.bump("clock");
    chain.forEach((hash, depth) => this.sql.exec("UPDATE blocks SET last_used = ?, depth = ? WHERE hash = ?", stamp, depth, hash));
  }

  /**
   * Stores the blocks not yet held (checksummed here), stamps the whole chain they extend (`chain`: every block hash
   * of the prompt from the first on) as used, then evicts until the blocks' bytes fit `budgetBytes`.
   */
  async publish(chain: readonly string[], blocks: readonly PublishedBlock[], budgetBytes: number): Promise<number> {
    let stored = 0;
    for (const b of blocks) {
      const checksum = await blockChecksum(b.hash, b.data);
      // Checked after the await, with no await until the insert: two sessions publishing one block store it once.
      // A block already held is kept when its bytes are these bytes; a poisoned copy (the chain broke before it) is repaired.
      if (Number(this.sql.exec("SELECT count(*) AS n FROM blocks WHERE hash = ?", b.hash).one().n) !== 0) {
        if (this.holds(b.hash, b.data)) continue;
        this.remove(b.hash);
        this.bump("corrupt_blocks");
      }
      const parts = Math.max(1, Math.ceil(b.data.byteLength / MAX_PAGE_BYTES));
      this.storage.transactionSync(() => {
        for (let p = 0; p < parts; p++) {
          this.sql.exec("INSERT OR REPLACE INTO block_parts (hash, part, data) VALUES (?, ?, ?)", b.hash, p, b.data.slice(p * MAX_PAGE_BYTES, (p + 1) * MAX_PAGE_BYTES).buffer);
        }
        this.sql.exec("INSERT INTO blocks (hash, checksum, bytes, parts, last_used, depth) VALUES (?, ?, ?, ?, 0, 0)", b.hash, checksum, b.data.byteLength, parts);
      });
      stored++;
    }
    if (stored > 0) this.bump("published_blocks", stored);
    this.touch(chain);
    this.evict(budgetBytes);
    return stored;
  }

  /** Whether the stored parts of `hash` are exactly `data`. */
  private holds(hash: string, data: Uint8Array): boolean {
    let at = 0;
    for (const r of this.sql.exec("SELECT data FROM block_parts WHERE hash = ? ORDER BY part", hash)) {
      const part = new Uint8Array(r.data as ArrayBuffer);
      if (at + part.length > data.length || part.some((v, i) => v !== data[at + i])) return false;
      at += part.length;
    }
    return at === data.length;
  }

  private evict(budgetBytes: number): void {
    let total = this.blockBytes();
    while (total > budgetBytes) {
      const oldest = this.sql.exec("SELECT hash, bytes FROM blocks ORDER BY last_used, depth DESC LIMIT 1").toArray()[0];
      if (!oldest) break;
      this.remove(String(oldest.hash));
      this.bump("evicted_blocks");
      total -= Number(oldest.bytes);
    }
  }

  private remove(hash: string): void {
    this.sql.exec("DELETE FROM block_parts WHERE hash = ?", hash);
    this.sql.exec("DELETE FROM blocks WHERE hash = ?", hash);
  }

  private blockBytes(): number {
    return Number(this.sql.exec("SELECT coalesce(sum(bytes), 0) AS b FROM blocks").one().b);
  }

  /** A session's stored bytes as it last reported them; a deleted session reports zeros and leaves the ledger. */
  record(session: string, kvBytes: number, stateBytes: number): void {
    if (kvBytes === 0 && stateBytes === 0) this.sql.exec("DELETE FROM ledger WHERE session = ?", session);
    else this.sql.exec("INSERT OR REPLACE INTO ledger (session, kv_bytes, state_bytes) VALUES (?, ?, ?)", session, kvBytes, stateBytes);
  }

  stats(): CacheStats {
    const blocks = this.sql.exec("SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM blocks").one();
    const ledger = this.sql.exec("SELECT count(*) AS n, coalesce(sum(kv_bytes), 0) AS kv, coalesce(sum(state_bytes), 0) AS st FROM ledger").one();
    return {
      blocks: Number(blocks.n),
      blockBytes: Number(blocks.b),
      lookups: this.counter("lookups"),
      hitBlocks: this.counter("hit_blocks"),
      missedBlocks: this.counter("missed_blocks"),
      corruptBlocks: this.counter("corrupt_blocks"),
      evictedBlocks: this.counter("evicted_blocks"),
      publishedBlocks: this.counter("published_blocks"),
      sessions: Number(ledger.n),
      sessionKvBytes: Number(ledger.kv),
      sessionStateBytes: Number(ledger.st),
    };
  }
}
