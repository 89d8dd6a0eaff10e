// A session's SQLite storage: one state row (settings, sampler, token log) and the KV cache as page rows.
import type { SessionSettings } from "../protocol/session";

/** The state row as stored; the token log is a little-endian Int32 blob. */
export interface StoredState {
  readonly createdAt: number;
  readonly settings: SessionSettings;
  /** Sampler.state() as JSON (config, RNG, penalty window). */
  readonly samplerState: string;
  readonly tokens: readonly number[];
  readonly evaluated: number;
  /** Positions per KV page, fixed when the session is created (a later KV_PAGE_BYTES change cannot misread pages). */
  readonly perPage: number;
  readonly lastFinish: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS state (
  id INTEGER PRIMARY KEY CHECK (id = 0),
  created_at INTEGER NOT NULL,
  settings TEXT NOT NULL,
  sampler TEXT NOT NULL,
  tokens BLOB NOT NULL,
  evaluated INTEGER NOT NULL,
  per_page INTEGER NOT NULL,
  last_finish TEXT
);
CREATE TABLE IF NOT EXISTS kv_pages (page INTEGER PRIMARY KEY, data BLOB NOT NULL);
`;

export class SessionStore {
  constructor(private readonly storage: DurableObjectStorage) {}

  private get sql(): SqlStorage {
    return this.storage.sql;
  }

  /** True once the session was created (and until it is deleted: deleteAll drops the tables). */
  exists(): boolean {
    const t = this.sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'state'").one();
    if (Number(t.n) === 0) return false;
    return Number(this.sql.exec("SELECT count(*) AS n FROM state").one().n) === 1;
  }

  load(): StoredState | null {
    if (!this.exists()) return null;
    const r = this.sql.exec("SELECT * FROM state WHERE id = 0").one();
    return {
      createdAt: Number(r.created_at),
      settings: JSON.parse(String(r.settings)) as SessionSettings,
      samplerState: String(r.sampler),
      tokens: r.tokens instanceof ArrayBuffer ? Array.from(new Int32Array(r.tokens)) : [],
      evaluated: Number(r.evaluated),
      perPage: Number(r.per_page),
      lastFinish: r.last_finish === null ? null : String(r.last_finish),
    };
  }

  /**
   * Writes the state row, the given pages and drops pages past the evaluated positions, all in ONE transaction:
   * after a crash the token log, the sampler and the cache always agree.
   */
  save(state: StoredState, pages: ReadonlyMap<number, Uint8Array>): void {
    this.storage.transactionSync(() => {
      this.sql.exec(SCHEMA);
      const tokens = new Int32Array(state.tokens);
      this.sql.exec(
        `INSERT OR REPLACE INTO state (id, created_at, settings, sampler, tokens, evaluated, per_page, last_finish) VALUES (0, ?, ?, ?, ?, ?, ?, ?)`,
        state.createdAt,
        JSON.stringify(state.settings),
        state.samplerState,
        tokens.buffer,
        state.evaluated,
        state.perPage,
        state.lastFinish,
      );
      for (const [page, data] of pages) this.writePage(page, data);
      this.sql.exec("DELETE FROM kv_pages WHERE page >= ?", Math.ceil(state.evaluated / state.perPage));
    });
  }

  /** Pages 0..n-1 in order; a missing page means corrupt storage, reported rather than restored wrongly. */
  pages(n: number): Uint8Array[] {
    const rows = this.sql.exec("SELECT page, data FROM kv_pages WHERE page < ? ORDER BY page", n).toArray();
    if (rows.length !== n || rows.some((r, i) => Number(r.page) !== i)) throw new Error(`session storage holds ${rows.length} of ${n} KV pages`);
    return rows.map((r) => new Uint8Array(r.data as ArrayBuffer));
  }

  page(index: number): Uint8Array | null {
    const rows = this.sql.exec("SELECT data FROM kv_pages WHERE page = ?", index).toArray();
    return rows.length === 0 ? null : new Uint8Array(rows[0]!.data as ArrayBuffer);
  }

  /** One page written on its own (fork copies pages one RPC at a time, before the state row makes them live). */
  putPage(index: number, data: Uint8Array): void {
    this.sql.exec(SCHEMA);
    this.writePage(index, data);
  }

  private writePage(index: number, data: Uint8Array): void {
    // Copy: a page read from the cache may be a view into a larger buffer.
    this.sql.exec("INSERT OR REPLACE INTO kv_pages (page, data) VALUES (?, ?)", index, data.slice().buffer);
  }

  /** Stored sizes: page rows, and the state row (token log, settings, sampler). */
  sizes(): { kvPages: number; kvBytes: number; stateBytes: number; databaseBytes: number } {
    if (!this.exists()) return { kvPages: 0, kvBytes: 0, stateBytes: 0, databaseBytes: this.sql.databaseSize };
    const kv = this.sql.exec("SELECT count(*) AS n, coalesce(sum(length(data)), 0) AS b FROM kv_pages").one();
    const st = this.sql
      .exec("SELECT length(settings) + length(sampler) + length(tokens) + coalesce(length(last_finish), 0) AS b FROM state WHERE id = 0")
      .one();
    return { kvPages: Number(kv.n), kvBytes: Number(kv.b), stateBytes: Number(st.b), databaseBytes: this.sql.databaseSize };
  }

  /** Removes everything the object stores. */
  async deleteAll(): Promise<void> {
    await this.storage.deleteAll();
  }
}
