// Chat prompts: Jinja chat templates render like llama.cpp's callers expect; models without one use the plain template.
import { beforeAll, describe, expect, it } from "vitest";
import { plainChatPrompt, PLAIN_STOP, renderTemplate } from "../../src/session/chat";
import { call, json, seedModel } from "./helpers";

beforeAll(seedModel);

const MESSAGES = [
  { role: "system", content: "You tell stories." },
  { role: "user", content: "Tell me about a cat." },
] as const;

describe("chat prompts", () => {
  it("renders a ChatML-style Jinja template with the generation prompt", () => {
    const chatml = "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
    expect(renderTemplate(chatml, MESSAGES, { bos: "<s>", eos: "</s>" })).toBe(
      "<s><|im_start|>system\nYou tell stories.<|im_end|>\n<|im_start|>user\nTell me about a cat.<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("the plain template names each turn and ends with the assistant's cue", () => {
    expect(plainChatPrompt(MESSAGES)).toBe("System: You tell stories.\nUser: Tell me about a cat.\nAssistant:");
  });

  it("stories260K has no chat template: chat equals a completion of the plain prompt stopping at the next user turn", async () => {
    const chat = await json(await call("POST", "/v1/chat/completions", { messages: MESSAGES, max_tokens: 40, temperature: 0 }));
    const plain = await json(await call("POST", "/v1/completions", { prompt: plainChatPrompt(MESSAGES), max_tokens: 40, temperature: 0, stop: PLAIN_STOP }));
    expect(chat.choices[0].message.content).toBe(plain.choices[0].text);
    expect(chat.choices[0].finish_reason).toBe(plain.choices[0].finish_reason);
    // The same tokens: the completion restores the chat prompt's whole 32-token blocks from the prompt cache.
    expect(plain.usage).toEqual({ ...chat.usage, prompt_tokens_details: { cached_tokens: Math.floor((chat.usage.prompt_tokens - 1) / 32) * 32 } });
  });
});
