// One generation in a session, streamed: text mode (native /generate) or chat mode (/v1/chat/completions), with live tokens/s.
import { postEvents } from "./api.js";

/** The sampling settings form as API fields; empty inputs are left out, so the session keeps its own value. */
export function samplingSettings(form) {
  const out = {};
  for (const input of form.querySelectorAll("input")) {
    if (input.value === "") continue;
    out[input.id] = Number(input.value);
  }
  return out;
}

/**
 * Streams one generation. `onText(text)` gets each new piece, `onRate(tokensPerSecond)` the live rate (tokens
 * since the first one over the time since it arrived). Resolves to {sessionTokens, decodeTps, finishReason} from the final
 * event (finishReason: "stop" when the model ended its reply, an end-of-generation token or a stop string; "length"...).
 */
export async function streamGeneration({ sessionId, mode, prompt, settings, signal, onText, onRate }) {
  const { max_tokens, ...sampling } = settings;
  const chat = mode === "chat";
  const path = chat ? "/v1/chat/completions" : `/v1/sessions/${sessionId}/generate`;
  const body = chat
    ? { session_id: sessionId, messages: [{ role: "user", content: prompt }], max_tokens, stream: true, stream_options: { include_usage: true }, ...sampling }
    : { text: prompt, max_tokens, stream: true, ...sampling };
  let first = 0;
  let count = 0;
  let result = { sessionTokens: null, decodeTps: null, finishReason: null };
  const piece = (text) => {
    const now = performance.now();
    if (count === 0) first = now;
    count++;
    onText(text);
    if (count > 1) onRate((count - 1) / ((now - first) / 1000));
  };
  for await (const { event, data } of postEvents(path, body, signal)) {
    if (data === "[DONE]") break;
    if (data.error) throw new Error(data.error.message);
    if (chat) {
      const choice = data.choices?.[0];
      if (choice?.delta?.content) piece(choice.delta.content);
      if (choice?.finish_reason) result = { ...result, finishReason: choice.finish_reason };
    } else if (event === "token") {
      piece(data.text);
    } else if (event === "done") {
      const decodeMs = data.timings.decode_ms;
      result = { sessionTokens: data.usage.session_tokens, decodeTps: decodeMs > 0 ? (data.usage.output_tokens / decodeMs) * 1000 : null, finishReason: data.finish_reason };
    }
  }
  return result;
}
