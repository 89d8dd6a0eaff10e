// Chat prompts: the model's GGUF chat template through @huggingface/jinja when it has one, else a documented plain template.
import { Template } from "@huggingface/jinja";
import type { LlamaModel } from "../engine/model";
import type { ChatMessage } from "../protocol/generate";

export interface ChatPrompt {
  readonly text: string;
  /** Template text holds special tokens ("<|im_start|>") that must become those tokens. */
  readonly parseSpecial: boolean;
  /** Stop strings the format needs (the plain template's next "User:" turn). */
  readonly stop: readonly string[];
  /** The BOS piece the template was given ("" without one): a prompt starting with it needs no second BOS. */
  readonly bosText: string;
}

/** Stop string of the plain template: the model starting the user's next turn. */
export const PLAIN_STOP = "\nUser:";

/**
 * The plain template, for models without `tokenizer.chat_template`: one line per message, "System: …", "User: …",
 * "Assistant: …", then "Assistant:" to prompt the reply; generation stops at "\nUser:".
 */
export function plainChatPrompt(messages: readonly ChatMessage[]): string {
  const name = (role: string) => role.charAt(0).toUpperCase() + role.slice(1);
  return messages.map((m) => `${name(m.role)}: ${m.content}\n`).join("") + "Assistant:";
}

/** Renders a Jinja chat template the way llama.cpp and transformers call it. */
export function renderTemplate(template: string, messages: readonly ChatMessage[], specials: { bos: string; eos: string }): string {
  return new Template(template).render({ messages, add_generation_prompt: true, bos_token: specials.bos, eos_token: specials.eos });
}

export function chatPrompt(model: LlamaModel, template: string | undefined, messages: readonly ChatMessage[]): ChatPrompt {
  if (template === undefined) return { text: plainChatPrompt(messages), parseSpecial: false, stop: [PLAIN_STOP], bosText: "" };
  const t = model.tokenizer;
  const piece = (id: number) => (id >= 0 && id < t.vocabSize ? t.tokenText(id) : "");
  const bos = piece(t.bosId);
  const text = renderTemplate(template, messages, { bos, eos: piece(t.eosId) });
  return { text, parseSpecial: true, stop: [], bosText: bos };
}
