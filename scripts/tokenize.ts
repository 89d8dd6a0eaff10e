// `npm run tokenize`: a GGUF file's tokenizer on a text, a file or a JSON-lines batch, as llama_tokenize(add_special, parse_special).
import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { GgufHeaderTooLarge, readGgufHeader, type GgufFile } from "../src/gguf/index";
import { createTokenizer, type Tokenizer } from "../src/tokenizer/index";
import { modelPath } from "./lib/model-dir";
import { parseFlags, UsageError } from "./lib/args";

const USAGE = `usage: npm run tokenize -- --model FILE (--text TEXT | --file PATH | --jsonl PATH) [--add-special] [--parse-special] [--json]
FILE is a path, or a name inside the model directory ($EDGE_LLAMA_MODELS, default ./models); a vocabulary-only GGUF will do.
  --add-special    add BOS/EOS as the vocabulary asks (llama_tokenize's add_special; off by default)
  --parse-special  turn control-token text such as <|im_end|> into those tokens (parse_special; off by default)
  --json           print {"tokens":[...],"pieces":[...]} instead of one "id -> 'piece'" line per token
  --jsonl PATH     one {"text": ..., "add_special"?: bool, "parse_special"?: bool} object per line in (the flags above
                   are the defaults), one {"tokens":[...]} line out per object, in order`;

async function main(): Promise<void> {
  const { flags, positional } = parseFlags(process.argv.slice(2), {
    model: "string",
    text: "string",
    file: "string",
    jsonl: "string",
    "add-special": "boolean",
    "parse-special": "boolean",
    json: "boolean",
    help: "boolean",
  });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  if (!flags.model) throw new UsageError("--model is required");
  const inputs = [flags.text, flags.file, flags.jsonl].filter((x) => x !== undefined).length;
  if (inputs !== 1) throw new UsageError("give exactly one of --text, --file and --jsonl");
  const addSpecial = flags["add-special"] ?? false;
  const parseSpecial = flags["parse-special"] ?? false;
  const tok = createTokenizer(readHeader(modelPath(flags.model)));

  if (flags.jsonl !== undefined) {
    const lines = readFileSync(flags.jsonl, "utf8").split("\n");
    const out: string[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === "") return;
      const req = parseLine(line, `${flags.jsonl}:${i + 1}`);
      out.push(JSON.stringify({ tokens: tok.encode(req.text, { addSpecial: req.add_special ?? addSpecial, parseSpecial: req.parse_special ?? parseSpecial }) }));
    });
    if (out.length > 0) process.stdout.write(out.join("\n") + "\n");
    return;
  }

  const text = flags.text ?? readFileSync(flags.file!, "utf8");
  const tokens = tok.encode(text, { addSpecial, parseSpecial });
  const pieces = tokens.map((id) => piece(tok, id));
  if (flags.json) {
    console.log(JSON.stringify({ tokens, pieces }));
    return;
  }
  const width = String(tok.vocabSize).length;
  for (let i = 0; i < tokens.length; i++) console.log(`${String(tokens[i]).padStart(width)} -> ${JSON.stringify(pieces[i])}`);
  console.error(`${tokens.length} tokens (${tok.model} vocabulary of ${tok.vocabSize})`);
}

/** A token's text as llama-tokenize shows it: its bytes (control tokens as their text); a partial UTF-8 character is U+FFFD. */
function piece(tok: Tokenizer, id: number): string {
  return tok.decode([id], { skipSpecial: false, stripLeadingSpace: false });
}

interface Request {
  text: string;
  add_special?: boolean;
  parse_special?: boolean;
}

function parseLine(line: string, where: string): Request {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new UsageError(`${where}: not JSON (${(e as Error).message})`);
  }
  const r = v as Partial<Record<keyof Request, unknown>>;
  if (typeof v !== "object" || v === null || typeof r.text !== "string") throw new UsageError(`${where}: expected an object with a "text" string`);
  for (const key of ["add_special", "parse_special"] as const) {
    if (r[key] !== undefined && typeof r[key] !== "boolean") throw new UsageError(`${where}: "${key}" must be true or false`);
  }
  return r as Request;
}

/** The GGUF header (metadata) of a file, reading only as much of it as the header needs: models can be gigabytes. */
function readHeader(path: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    throw new Error(`model file not found: ${path}. Set EDGE_LLAMA_MODELS to the folder that holds it, or give a path.`);
  }
  try {
    const size = fstatSync(fd).size;
    for (let want = 1 << 24; ; want *= 4) {
      const buf = new Uint8Array(Math.min(want, size));
      const got = readSync(fd, buf, 0, buf.length, 0);
      try {
        return readGgufHeader(buf.subarray(0, got), size);
      } catch (e) {
        if (!(e instanceof GgufHeaderTooLarge) || got >= size) throw e;
      }
    }
  } finally {
    closeSync(fd);
  }
}

main().catch((err: unknown) => {
  const e = err instanceof Error ? err : new Error(String(err));
  console.error(`error: ${e.message}`);
  if (e instanceof UsageError) console.error(USAGE);
  process.exit(1);
});
