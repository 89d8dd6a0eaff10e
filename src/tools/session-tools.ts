// Tools in a session (x-session-id): tools are rendered once, in the conversation's first request (the generic format's description, or the template's own tools text); later requests must carry the same tools.
import type { ChatMessage, ChatTool } from "../protocol/generate";
import { renderTemplate } from "../session/chat";
import { withToolsPrompt } from "./format";

/**
 * The messages a session renders for a request whose tools the generic format describes in `prompt` (a system text).
 * `sessionText`: the session's conversation so far (null: empty). An empty session gets the description as
 * genericMessages puts it (the end of the system turn, one added when absent). A session that already holds this very
 * description gets the messages alone (the description is not repeated each request). A session holding other tools,
 * or none, cannot change them mid-conversation: that is the returned error's message (a 400 naming `tools`).
 */
export function sessionToolMessages(messages: readonly ChatMessage[], prompt: string, sessionText: string | null): { messages: ChatMessage[] } | { error: string } {
  if (sessionText === null) return { messages: withToolsPrompt([...messages], prompt) };
  if (sessionText.includes(prompt)) return { messages: [...messages] };
  return { error: CHANGED_TOOLS };
}

/** Why other tools than a session's cannot be honoured mid-conversation (a 400 naming tools). */
export const CHANGED_TOOLS = "tools differ from the tools this session's conversation was started with (or it was started without tools): a session renders its tools once, in its first request, and they cannot change mid-conversation; send the same tools (or tool_choice \"none\"), or start a new session for other tools";

/**
 * Whether a session's conversation (`sessionText`, control tokens as their text) holds `tools` as a template that knows
 * tools renders them. Templates put tools where they like (the system turn, the first user turn), and a continued
 * session renders only new turns, so the tools' text is found as the lines a one-turn render gains with the tools
 * that name a tool (other gained lines may hold a default system text the conversation replaced); each must be in the
 * session. A template that renders no tools text holds anything; a request naming a subset of the session's tools may
 * pass where the template puts each tool on a line of its own (calls of the others then stay text).
 */
export function templateToolsHeld(template: string, specials: { bos: string; eos: string }, tools: readonly ChatTool[], sessionText: string): boolean {
  const turn: ChatMessage[] = [{ role: "user", content: "\uE000" }];
  const without = new Set(renderTemplate(template, turn, specials).split("\n"));
  const lines = renderTemplate(template, turn, specials, tools)
    .split("\n")
    .filter((l) => !without.has(l) && tools.some((t) => l.includes(t.function.name)));
  return lines.every((l) => sessionText.includes(l)); // none: the template shows no tools text to compare
}
