// Log-probabilities in the API's shapes: OpenAI's legacy completions object, chat's content list, and the native session list.
import type { TokenChoice, TokenLogprobs } from "../protocol";

/** Legacy `/v1/completions` logprobs; `offset` is where the first token's text starts in the completion text. */
export function legacyLogprobs(entries: readonly TokenLogprobs[], offset = 0) {
  const text_offset: number[] = [];
  let at = offset;
  for (const e of entries) {
    text_offset.push(at);
    at += e.text.length;
  }
  return {
    tokens: entries.map((e) => e.text),
    token_logprobs: entries.map((e) => e.logprob),
    // One object per position, token text -> log-probability (OpenAI's format; equal texts share a key).
    top_logprobs: entries.map((e) => Object.fromEntries(e.top.map((t) => [t.text, t.logprob]))),
    text_offset,
  };
}

/** Characters the entries' texts add to the completion (where the next chunk's offsets start). */
export function textLength(entries: readonly TokenLogprobs[]): number {
  return entries.reduce((n, e) => n + e.text.length, 0);
}

const chatToken = (t: TokenChoice) => ({ token: t.text, logprob: t.logprob, bytes: [...t.bytes] });

/** `/v1/chat/completions` logprobs: one entry per token with its top alternatives. */
export function chatLogprobs(entries: readonly TokenLogprobs[]) {
  return { content: entries.map((e) => ({ ...chatToken(e), top_logprobs: e.top.map(chatToken) })), refusal: null };
}

const nativeToken = (t: TokenChoice) => ({ id: t.token, token: t.text, logprob: t.logprob, bytes: [...t.bytes] });

/** The native session API's logprobs: chat's entries plus each token's id. */
export function nativeLogprobs(entries: readonly TokenLogprobs[]) {
  return entries.map((e) => ({ ...nativeToken(e), top_logprobs: e.top.map(nativeToken) }));
}
