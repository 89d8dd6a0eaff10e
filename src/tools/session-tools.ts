// Tools in a session (x-session-id): the generic format's tool description is rendered once, in the conversation's first request; later requests must carry the same tools.
import type { ChatMessage } from "../protocol/generate";
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
  return {
    error:
      "tools differ from the tools this session's conversation was started with (or it was started without tools): a session describes its tools once, in its first request, and they cannot change mid-conversation; send the same tools (or tool_choice \"none\"), or start a new session for other tools",
  };
}
