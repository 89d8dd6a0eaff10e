// GrammarError: every rejected grammar, schema or token says what and where (GBNF line/column, or the schema's JSON pointer).

/** Where a GrammarError came from: GBNF text, a JSON Schema, a regex `pattern`, or a matcher misuse. */
export type GrammarErrorKind = "gbnf" | "schema" | "pattern" | "matcher";

export class GrammarError extends Error {
  override readonly name = "GrammarError";
  /** 1-based line and column in the GBNF text (gbnf errors only). */
  readonly line?: number;
  readonly column?: number;
  /** JSON pointer of the offending schema node ("" is the root; schema and pattern errors). */
  readonly path?: string;
  /** The unsupported keyword or feature (schema and pattern errors), e.g. "exclusiveMinimum", "format: email". */
  readonly feature?: string;

  constructor(readonly kind: GrammarErrorKind, message: string, where: { line?: number; column?: number; path?: string; feature?: string } = {}) {
    super(message);
    if (where.line !== undefined) this.line = where.line;
    if (where.column !== undefined) this.column = where.column;
    if (where.path !== undefined) this.path = where.path;
    if (where.feature !== undefined) this.feature = where.feature;
  }
}

/** A GBNF error at an offset of `text`, with its 1-based line and column in the message. */
export function gbnfError(text: string, offset: number, message: string): GrammarError {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const column = offset - lineStart + 1;
  return new GrammarError("gbnf", `GBNF line ${line}, column ${column}: ${message}`, { line, column });
}

/** A JSON Schema feature we cannot compile, at a JSON pointer. */
export function schemaError(path: readonly (string | number)[], feature: string, message: string): GrammarError {
  const pointer = path.map((p) => "/" + String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("");
  return new GrammarError("schema", `JSON Schema at "${pointer}": ${message}`, { path: pointer, feature });
}
