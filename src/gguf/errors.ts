// GgufError: the one error every malformed GGUF input produces, naming what is wrong and at which byte.

export class GgufError extends Error {
  override readonly name = "GgufError";
  constructor(
    message: string,
    /** Byte offset in the file where the problem was found, when known. */
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
  }
}
