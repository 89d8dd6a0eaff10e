// A generate request's input, checked against the session: the text, token ids or chat turn as tokens, its stop strings, context-length and logprobs checks.
import type { LlamaContext } from "../engine/context";
import type { LlamaModel } from "../engine/model";
import { ChatTemplateError, chatPrompt, encodeChatPrompt, type ChatPrompt } from "./chat";
import { checkLogitBias } from "../engine/sampler";
import { requestGrammar } from "./grammar-constraint";
import { CHANGED_TOOLS, sessionToolMessages, templateToolsHeld } from "../tools/session-tools";
import { MAX_TOP_LOGPROBS } from "./logprobs";
import { host } from "./model-host";
import { contextTooLong, invalidValue } from "../protocol/errors";
import type { GenerateRequest } from "../protocol/generate";
import { fail, ok, type Result } from "../protocol/result";

/** Most choices one request may ask for (OpenAI's bound on n and best_of together: 128). */
export const MAX_CHOICES = 128;

export interface RequestInput {
  readonly input: number[];
  readonly stop: string[];
}

/** Tokenizes what the request appends (a BOS starts an empty session) and refuses what cannot run. */
export function requestInput(model: LlamaModel, llm: LlamaContext, req: GenerateRequest): Result<RequestInput> {
  const tokensParam = req.tokensParam ?? "prompt";
  if (req.tokens) {
    // Checked before anything is appended: a bad id leaves the session as it was.
    const vocab = model.config.vocabSize;
    const bad = req.tokens.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= vocab);
    if (bad >= 0) return fail(invalidValue(`${tokensParam}[${bad}] is ${req.tokens[bad]}, not a token id of this model (its vocabulary has ${vocab} tokens: 0..${vocab - 1})`, tokensParam));
  }
  let messages = req.messages;
  if (messages && req.toolsPrompt !== undefined) {
    // Described once per conversation: repeated each request, the description would pile up in the session.
    const t = sessionToolMessages(messages, req.toolsPrompt, llm.length === 0 ? null : model.tokenizer.decode(llm.tokens));
    if ("error" in t) return fail(invalidValue(t.error, "tools"));
    messages = t.messages;
  }
  let chat: ChatPrompt | null = null;
  try {
    const template = host.chatTemplate(model);
    if (messages && req.tools?.length && llm.length > 0 && template !== undefined) {
      // A continued session renders only new turns: the template's tools text is its first request's, which must match.
      const tk = model.tokenizer;
      const piece = (id: number) => (id >= 0 && id < tk.vocabSize ? tk.tokenText(id) : "");
      if (!templateToolsHeld(template, { bos: piece(tk.bosId), eos: piece(tk.eosId) }, req.tools, tk.decode(llm.tokens, { skipSpecial: false }))) return fail(invalidValue(CHANGED_TOOLS, "tools"));
    }
    const last = llm.tokens.at(-1);
    const continued = last === undefined ? undefined : { lastToken: last, ...(template === undefined && { tailText: model.tokenizer.decode(llm.tokens.slice(-8)) }) };
    chat = messages ? chatPrompt(model.tokenizer, template, messages, continued, req.tools) : null;
  } catch (e) {
    if (e instanceof ChatTemplateError) return fail(invalidValue(e.message, "messages"));
    throw e;
  }
  // Chat: template text may hold control tokens, message contents never do. Raw text: its special-token text becomes
  // those tokens only when the request says parse_special. A BOS starts an empty session where the vocabulary wants one.
  const input = req.tokens
    ? [...req.tokens]
    : chat
      ? encodeChatPrompt(model.tokenizer, chat, llm.length)
      : req.text
        ? model.tokenizer.encode(req.text, { addBos: llm.length === 0 && model.tokenizer.vocab.addBos, addEos: false, parseSpecial: req.parseSpecial ?? false })
        : [];
  // context_length_exceeded (400): the input (plus the tokens asked for, where the endpoint reserves them) does not fit in the context.
  const reserved = req.requireRoom ? req.maxTokens : 0;
  if (llm.length + input.length + reserved > llm.nCtx) {
    const asked = reserved > 0 ? ` and ${reserved} to generate` : "";
    return fail(contextTooLong(
      `the session would hold ${llm.length + input.length + reserved} tokens (${llm.length} already, ${input.length} new${asked}), over its context length of ${llm.nCtx}`, req.messages ? "messages" : req.tokens ? tokensParam : req.ephemeral ? "prompt" : "text"));
  }
  if (req.logitBias) {
    const bad = checkLogitBias(req.logitBias, model.config.vocabSize);
    if (bad) return fail(invalidValue(`logit_bias: ${bad}`, "logit_bias"));
  }
  // Several choices restart from the prompt: only a throwaway object may (a session keeps exactly one continuation).
  if (req.n !== undefined && (!Number.isInteger(req.n) || req.n < 1 || req.n > MAX_CHOICES || (req.n > 1 && !req.ephemeral))) {
    return fail(invalidValue(req.ephemeral ? `n must be an integer in [1, ${MAX_CHOICES}], got ${req.n}` : "n > 1 is not supported in a session (it keeps one continuation); send the request without session_id", "n"));
  }
  if (req.logprobs !== undefined && (!Number.isInteger(req.logprobs) || req.logprobs < 0 || req.logprobs > MAX_TOP_LOGPROBS)) {
    return fail(invalidValue(`logprobs must be an integer in [0, ${MAX_TOP_LOGPROBS}], got ${req.logprobs}`, "logprobs"));
  }
  // A grammar that does not compile is a 400 before anything runs (the Worker checks it too; this covers RPC callers).
  const grammar = requestGrammar(req);
  if (!grammar.ok) return fail(grammar.error);
  return ok({ input, stop: [...(req.stop ?? []), ...(chat?.stop ?? [])] });
}
