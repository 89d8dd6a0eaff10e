// The Worker's check of a request's grammar or JSON Schema: compiled once (cached per isolate) so a bad one is a 400 before any work.
import { GrammarCache } from "./cache";
import { GrammarError } from "./errors";
import { jsonSchemaToGbnf } from "./json-schema";

/** Grammars the Worker compiled (validation only: the session compiles the GBNF again through its own cache). */
const checked = new GrammarCache({ maxEntries: 64, maxBytes: 16 << 20 });

/** A JSON pointer ("/properties/age/minimum") as dotted parameter path segments (".properties.age.minimum"). */
export function pointerParam(pointer: string | undefined): string {
  if (!pointer) return "";
  return pointer
    .split("/")
    .slice(1)
    .map((p) => "." + p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .join("");
}

/** Compiles GBNF text through the Worker's cache; a bad grammar throws GrammarError. */
export function checkGbnf(gbnf: string): void {
  checked.gbnf(gbnf);
}

/**
 * The GBNF of a JSON Schema, compiled once to prove it; a schema the compiler refuses becomes `fail(message, at)`,
 * where `at` is `param` plus the offending keyword's dotted path.
 */
export function checkedSchemaGbnf(schema: unknown, param: string, fail: (message: string, at: string) => Error): string {
  try {
    const gbnf = jsonSchemaToGbnf(schema);
    checked.gbnf(gbnf);
    return gbnf;
  } catch (e) {
    if (!(e instanceof GrammarError)) throw e;
    const at = param + pointerParam(e.path);
    throw fail(`${at}: ${e.message}${e.feature ? ` (unsupported: ${e.feature})` : ""}`, at);
  }
}
