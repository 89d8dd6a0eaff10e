// The fixed GBNF rules a JSON Schema grammar builds on: whitespace, any JSON value, strings, numbers, string formats.

/** Whitespace after tokens: none, one space, or a newline and up to 20 spaces/tabs (bounded, so a model cannot pad forever). */
export const SPACE_RULE = `| " " | "\\n" [ \\t]{0,20}`;

/** Primitive rules by name; a schema grammar includes the ones it references (and their dependencies). */
export const PRIMITIVES: Record<string, { body: string; deps: string[] }> = {
  space: { body: SPACE_RULE, deps: [] },
  // Unicode escapes exclude surrogates so that each `char` is exactly one code point (minLength/maxLength count those).
  char: { body: `[^"\\\\\\x00-\\x1f] | "\\\\" (["\\\\/bfnrt] | "u" ([0-9a-cA-Ce-fE-F] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2}))`, deps: [] },
  string: { body: `"\\"" char* "\\"" space`, deps: ["char", "space"] },
  "int-part": { body: `"0" | [1-9] [0-9]{0,15}`, deps: [] },
  number: { body: `"-"? int-part ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,2})? space`, deps: ["int-part", "space"] },
  integer: { body: `"-"? int-part space`, deps: ["int-part", "space"] },
  boolean: { body: `("true" | "false") space`, deps: ["space"] },
  null: { body: `"null" space`, deps: ["space"] },
  value: { body: `object | array | string | number | boolean | null`, deps: ["object", "array", "string", "number", "boolean", "null"] },
  object: { body: `"{" space (string ":" space value ("," space string ":" space value)*)? "}" space`, deps: ["string", "value", "space"] },
  array: { body: `"[" space (value ("," space value)*)? "]" space`, deps: ["value", "space"] },
};

const DAY31 = `("0" [1-9] | [12] [0-9] | "3" [01])`;
const DAY30 = `("0" [1-9] | [12] [0-9] | "30")`;
const DAY28 = `("0" [1-9] | "1" [0-9] | "2" [0-8])`;
/** Calendar dates; February stops at the 28th so every date is valid in every year (no leap-year arithmetic in a grammar). */
const DATE = `[0-9]{4} "-" (("0" [13578] | "1" [02]) "-" ${DAY31} | ("0" [469] | "11") "-" ${DAY30} | "02-" ${DAY28})`;
const HOUR = `([01] [0-9] | "2" [0-3])`;
const TIME = `${HOUR} ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ${HOUR} ":" [0-5] [0-9])`;
const HEX = "[0-9a-f]";

/** String formats as GBNF of the string's content (no quotes). Others are rejected by the schema compiler. */
export const FORMATS: Record<string, string> = {
  date: DATE,
  time: TIME,
  "date-time": `${DATE} "T" ${TIME}`,
  uuid: `${HEX}{8} "-" ${HEX}{4} "-" ${HEX}{4} "-" ${HEX}{4} "-" ${HEX}{12}`,
};
