// A shard's SQLite: per session, the positions it holds and its KV pages for its own layers (the session object's page scheme).

const SCHEMA = `
CREATE TABLE IF NOT EXISTS seqs (session TEXT PRIMARY KEY, evaluated INTEGER NOT NULL, per_page INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pages (session TEXT NOT NULL, page INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (session, page));
`;

export interface StoredSeq {
  readonly evaluated: number;
  readonly perPage: number;
}

export class ShardStore {
  private ready = false;

  constructor(private readonly storage: DurableObjectStorage) {}

  private get sql(): SqlStorage {
    if (!this.ready) {
      this.storage.sql.exec(SCHEMA);
      this.ready = true;
    }
    return this.storage.sql;
  }

  seq(session: string): StoredSeq | null {
    const rows = this.sql.exec("SELECT evaluated, per_page FROM seqs WHERE session = ?", session).toArray();
    return rows.length === 0 ? null : { evaluated: Number(rows[0]!.evaluated), perPage: Number(rows[0]!.per_page) };
  }

  /** Pages 0..n-1 of a session, in order; a missing page is corrupt storage. */
  pages(session: string, n: number): Uint8Array[] {
    const rows = this.sql.exec("SELECT page, data FROM pages WHERE session = ? AND page < ? ORDER BY page", session, n).toArray();
    if (rows.length !== n || rows.some((r, i) => Number(r.page) !== i)) throw new Error(`shard storage holds ${rows.length} of ${n} KV pages of a session`);
    return rows.map((r) => new Uint8Array(r.data as ArrayBuffer));
  }

  /** Writes the given pages and the session's length, and drops pages past it, in one transaction. */
  save(session: string, seq: StoredSeq, pages: ReadonlyMap<number, Uint8Array>): void {
    this.storage.transactionSync(() => {
      const sql = this.sql;
      sql.exec("INSERT OR REPLACE INTO seqs (session, evaluated, per_page) VALUES (?, ?, ?)", session, seq.evaluated, seq.perPage);
      for (const [page, data] of pages) sql.exec("INSERT OR REPLACE INTO pages (session, page, data) VALUES (?, ?, ?)", session, page, data.slice().buffer);
      sql.exec("DELETE FROM pages WHERE session = ? AND page >= ?", session, Math.ceil(seq.evaluated / seq.perPage));
    });
  }

  drop(session: string): boolean {
    let had = false;
    this.storage.transactionSync(() => {
      had = this.sql.exec("SELECT count(*) AS n FROM seqs WHERE session = ?", session).one().n !== 0;
      this.sql.exec("DELETE FROM pages WHERE session = ?", session);
      this.sql.exec("DELETE FROM seqs WHERE session = ?", session);
    });
    return had;
  }

  /** One session's stored pages and their bytes. */
  usage(session: string): { pages: number; bytes: number } {
    const r = this.sql.exec("SELECT count(*) AS n, coalesce(sum(length(data)), 0) AS b FROM pages WHERE session = ?", session).one();
    return { pages: Number(r.n), bytes: Number(r.b) };
  }

  /** Positions stored per session, and the page bytes in all. */
  sizes(): { stored: Record<string, number>; pageBytes: number; databaseBytes: number } {
    const stored: Record<string, number> = {};
    for (const r of this.sql.exec("SELECT session, evaluated FROM seqs").toArray()) stored[String(r.session)] = Number(r.evaluated);
    const b = this.sql.exec("SELECT coalesce(sum(length(data)), 0) AS b FROM pages").one();
    return { stored, pageBytes: Number(b.b), databaseBytes: this.storage.sql.databaseSize };
  }
}
