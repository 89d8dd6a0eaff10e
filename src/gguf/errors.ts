// GgufError: the one error every malformed GGUF input (or invalid write spec) produces, naming what is wrong and where.

export class GgufError extends Error {
  override readonly name = "GgufError";
  /** Byte offset in the file where the problem was found, when known (also appended to the message). */
  readonly offset: number | undefined;

  constructor(message: string, offset?: number) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
    this.offset = offset;
  }
}

/**
 * The bytes given to readGgufHeader end before the header does (the file itself is long enough): read a longer prefix
 * (at least `prefixBytes` + 1) and try again.
 */
export class GgufHeaderTooLarge extends GgufError {
  constructor(
    readonly prefixBytes: number,
    what: string,
    offset: number,
  ) {
    super(`header larger than ${prefixBytes} bytes: ${what} lies past the prefix read`, offset);
  }
}

/** Quotes a key or tensor name for a message, cut short so a hostile 16 MB name cannot bloat the error. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}…` : name);
}
