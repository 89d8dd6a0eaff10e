// Chat prompts: the model's GGUF chat template through @huggingface/jinja (template text may hold control tokens, message
// contents never do), else a documented plain template.
import { Template } from "@huggingface/jinja";
import type { TextSegment, Tokenizer } from "../tokenizer/index";
import type { ChatMessage, ChatTool } from "../protocol/generate";

export interface ChatPrompt {
  /** The prompt as segments: the template's own text (special-token text becomes those tokens) and message contents (literal). */
  readonly segments: readonly TextSegment[];
  /** The segments joined: the rendered prompt. */
  readonly text: string;
  /** Stop strings the format needs (the plain template's next "User:" turn). */
  readonly stop: readonly string[];
  /** The BOS piece the template was given ("" without one): a prompt starting with it needs no second BOS. */
  readonly bosText: string;
  /** "model": the GGUF's tokenizer.chat_template; "plain": the built-in one. */
  readonly template: "model" | "plain";
}

/** Stop string of the plain template: the model starting the user's next turn. */
export const PLAIN_STOP = "\nUser:";

/** A template that cannot be rendered for these messages (a syntax error, or its own raise_exception). */
export class ChatTemplateError extends Error {
  override readonly name = "ChatTemplateError";
}

/**
 * The plain template, for models without `tokenizer.chat_template`: one line per message, "System: …", "User: …",
 * "Assistant: …", then "Assistant:" to prompt the reply; generation stops at "\nUser:".
 */
export function plainChatPrompt(messages: readonly ChatMessage[]): string {
  const name = (role: string) => role.charAt(0).toUpperCase() + role.slice(1);
  return messages.map((m) => `${name(m.role)}: ${m.content}\n`).join("") + "Assistant:";
}

/** Parsed templates: one model per isolate, so one entry is enough and memory stays bounded. */
let parsed: { readonly source: string; readonly template: Template } | null = null;

function compile(source: string): Template {
  if (parsed?.source !== source) parsed = { source, template: new Template(source) };
  return parsed.template;
}

/** JSON text as an object for the template (templates `tojson` a call's arguments); text that is not JSON stays text. */
function argumentsValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** A message as templates read it: tool calls with their arguments as objects (as transformers passes them). */
function templateMessage(m: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: m.role, content: m.content };
  if (m.tool_calls?.length) out.tool_calls = m.tool_calls.map((c) => ({ id: c.id, type: c.type, function: { name: c.function.name, arguments: argumentsValue(c.function.arguments) } }));
  if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
  if (m.name !== undefined) out.name = m.name;
  return out;
}

/**
 * Renders a Jinja chat template the way llama.cpp and transformers call it (add_generation_prompt, bos/eos strings,
 * and `tools` in OpenAI's shape when the request has tools).
 */
export function renderTemplate(template: string, messages: readonly ChatMessage[], specials: { bos: string; eos: string }, tools?: readonly ChatTool[]): string {
  try {
    return compile(template).render({
      messages: messages.map(templateMessage),
      add_generation_prompt: true,
      bos_token: specials.bos,
      eos_token: specials.eos,
      ...(tools?.length ? { tools: tools.map((t) => ({ type: t.type, function: { ...t.function } })) } : {}),
    });
  } catch (e) {
    // A syntax error, or the template's own raise_exception (roles not alternating...): a 400 naming messages, not a 500.
    throw new ChatTemplateError(`the chat template could not be rendered for these messages: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Private-use characters no message or template holds: the marker pair around each content in the marked render. */
function pickMarkers(texts: readonly string[]): { open: string; close: string } {
  for (let cp = 0xf8f0; cp < 0xf900; cp += 2) {
    const open = String.fromCharCode(cp);
    const close = String.fromCharCode(cp + 1);
    if (!texts.some((t) => t.includes(open) || t.includes(close))) return { open, close };
  }
  throw new ChatTemplateError("the messages use every private-use marker character this renderer can pick");
}

/**
 * The template rendered into segments: template text (parse_special on) and message contents (parse_special off).
 *
 * How: the template is rendered twice, once with the real contents (the prompt) and once with every content wrapped in
 * private-use marker characters; the marked render says where each content landed. When the two renders agree once
 * the markers are removed, the segments are exact. Templates that `| trim` contents (Llama 3) strip whitespace the
 * markers protect, so trimmed contents are tried next. If neither matches (a template that rewrites contents in some
 * other way), the marked render's segments are used: the prompt may then keep a content's outer whitespace, but a
 * content still never becomes a control token (see splitMarked for templates that cut contents apart).
 */
export function templateSegments(template: string, messages: readonly ChatMessage[], specials: { bos: string; eos: string }, tools?: readonly ChatTool[]): TextSegment[] {
  const rendered = renderTemplate(template, messages, specials, tools);
  const { open, close } = pickMarkers([template, specials.bos, specials.eos, ...messages.map((m) => m.content)]);
  // An empty content (an assistant turn that only calls tools) stays empty: templates test it for truth.
  const mark = (m: ChatMessage) => (m.content === "" ? m : { ...m, content: open + m.content + close });
  const marked = renderTemplate(template, messages.map(mark), specials, tools);
  const parts = splitMarked(marked, open, close);
  const join = (ps: readonly TextSegment[]) => ps.map((p) => p.text).join("");
  const variants: ((s: string) => string)[] = [(s) => s, (s) => s.trim(), (s) => s.trimEnd(), (s) => s.trimStart()];
  for (const f of variants) {
    const candidate = parts.map((p) => (p.parseSpecial ? p : { text: f(p.text), parseSpecial: false }));
    if (join(candidate) === rendered) return candidate.filter((p) => p.text.length > 0);
  }
  return parts.filter((p) => p.text.length > 0);
}

/**
 * Splits the marked render into template text (parse_special) and contents (literal). A template that cuts a content
 * apart (slicing, `split`) leaves a marker alone; the span it may have come from is then literal too: from the last
 * clean boundary up to a lone close marker, or from a lone open marker up to the next open one. Safe (no content text
 * can become a control token), at the price of that span's own control tokens.
 */
function splitMarked(marked: string, open: string, close: string): TextSegment[] {
  const out: TextSegment[] = [];
  const literal = (from: number, to: number) => out.push({ text: strip(marked.slice(from, to), open, close), parseSpecial: false });
  let at = 0;
  while (at < marked.length) {
    const o = marked.indexOf(open, at);
    const c = marked.indexOf(close, at);
    if (o < 0 && c < 0) {
      out.push({ text: marked.slice(at), parseSpecial: true });
      break;
    }
    if (o < 0 || (c >= 0 && c < o)) {
      literal(at, c); // a close with no open: its content began somewhere after the last boundary
      at = c + 1;
      continue;
    }
    out.push({ text: marked.slice(at, o), parseSpecial: true });
    const nextOpen = marked.indexOf(open, o + 1);
    const end = marked.indexOf(close, o + 1);
    if (end < 0 || (nextOpen >= 0 && nextOpen < end)) {
      const stop = nextOpen < 0 ? marked.length : nextOpen; // an open with no close: literal up to the next content
      literal(o + 1, stop);
      at = stop;
      continue;
    }
    out.push({ text: marked.slice(o + 1, end), parseSpecial: false });
    at = end + 1;
  }
  return out;
}

const strip = (s: string, open: string, close: string) => s.replaceAll(open, "").replaceAll(close, "");

/** Where a session's conversation stands when new messages arrive: its last token (an EOG token when the reply ended itself). */
export interface ChatContinuation {
  readonly lastToken: number;
  /** The end of the text the session holds (a few tokens decoded): where the plain template's new turns join it. */
  readonly tailText?: string;
}

/** Stand-ins for the turns a session already holds: a system turn (so templates add no default one) and a reply. */
const HISTORY_TEXT = "\uE000history\uE000";
const REPLY_TEXT = "\uE000reply\uE000";

/**
 * The prompt of a chat request: the model's template when it has one (bos/eos strings are the vocabulary's pieces), else
 * the plain template, all literal text. ChatTemplateError when the template cannot render these messages.
 *
 * In a session that already holds a conversation (`continued`), only the new turns are rendered: the template runs on a
 * stand-in history (system, user, assistant) followed by the new messages, and the text after the stand-in reply is
 * kept, so the earlier reply is closed as the template closes turns ("<|im_end|>\n") and no default system turn
 * repeats. When that reply ended with its own end-of-generation token, the template's copy of it is dropped.
 */
export function chatPrompt(tokenizer: Tokenizer, template: string | undefined, messages: readonly ChatMessage[], continued?: ChatContinuation, tools?: readonly ChatTool[]): ChatPrompt {
  if (template === undefined) {
    const text = plainJoin(plainChatPrompt(messages), continued?.tailText);
    return { segments: [{ text, parseSpecial: false }], text, stop: [PLAIN_STOP], bosText: "", template: "plain" };
  }
  const piece = (id: number) => (id >= 0 && id < tokenizer.vocabSize ? tokenizer.tokenText(id) : "");
  const bos = piece(tokenizer.bosId);
  const specials = { bos, eos: piece(tokenizer.eosId) };
  const segments = (continued && continuationSegments(template, messages, specials, tokenizer, continued, tools)) || templateSegments(template, messages, specials, tools);
  return { segments, text: segments.map((s) => s.text).join(""), stop: [], bosText: bos, template: "model" };
}

/**
 * The plain template's new turns after the text a session holds: a reply that ended at the stop string ("\nUser:")
 * already opened the user's turn, so a user message goes on from there; any other reply ends on a new line first.
 */
function plainJoin(prompt: string, tail: string | undefined): string {
  if (!tail) return prompt;
  if (tail.endsWith(PLAIN_STOP) && prompt.startsWith("User:")) return prompt.slice("User:".length);
  return tail.endsWith("\n") ? prompt : "\n" + prompt;
}

/** The new turns' segments after a stand-in history, or undefined when the template does not render it that way. */
function continuationSegments(template: string, messages: readonly ChatMessage[], specials: { bos: string; eos: string }, tokenizer: Tokenizer, at: ChatContinuation, tools?: readonly ChatTool[]): TextSegment[] | undefined {
  const history: ChatMessage[] = [
    { role: "system", content: HISTORY_TEXT },
    { role: "user", content: HISTORY_TEXT },
    { role: "assistant", content: REPLY_TEXT },
  ];
  let all: TextSegment[];
  try {
    all = templateSegments(template, [...history, ...messages], specials, tools);
  } catch {
    return undefined; // e.g. a template that refuses a system turn: render the new messages alone
  }
  const reply = all.findIndex((s) => !s.parseSpecial && s.text === REPLY_TEXT);
  if (reply < 0) return undefined;
  const rest = all.slice(reply + 1);
  const first = rest[0];
  if (first?.parseSpecial && tokenizer.isEog(at.lastToken)) {
    // The reply's own EOG token is already in the session: the template's turn closer starts with the same piece.
    const eog = tokenizer.tokenText(at.lastToken);
    if (first.text.startsWith(eog)) rest[0] = { text: first.text.slice(eog.length), parseSpecial: true };
  }
  return rest.filter((s) => s.text.length > 0);
}

/**
 * Token ids of a chat prompt appended to a session holding `sessionTokens` tokens: BOS starts an empty session when the
 * vocabulary asks for one (add_bos_token) and the template did not render it already (its bos_token text, parsed as
 * the BOS token); never an EOS.
 */
export function encodeChatPrompt(tokenizer: Tokenizer, prompt: ChatPrompt, sessionTokens: number): number[] {
  const first = prompt.segments[0];
  const rendersBos = prompt.bosText !== "" && first !== undefined && first.parseSpecial && first.text.startsWith(prompt.bosText);
  return tokenizer.encodeSegments(prompt.segments, { addBos: sessionTokens === 0 && tokenizer.vocab.addBos && !rendersBos, addEos: false });
}
