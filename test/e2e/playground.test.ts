// The playground in a real browser (Debian's headless Chromium through playwright-core) against wrangler dev:
// a streamed greedy story that matches llama.cpp, reload, continue, fork, rewind and delete; saves a screenshot.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFixtureText } from "../helpers/fixtures";
import { startDevServer, type DevServer } from "../../scripts/lib/dev-server";

const CHROMIUM = "/usr/bin/chromium";
// Flags that keep Chromium headless, offline and quiet on a CI box without a GPU or a sandbox-capable kernel.
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const ARTIFACTS = resolve(import.meta.dirname, "../../test-results");

interface Reference {
  models: { file: string; runs: { prompt: string; generatedText: string }[] }[];
}
const reference = (JSON.parse(readFixtureText("reference-outputs.json")) as Reference).models.find((m) => m.file === "stories260K.gguf")!.runs[0]!;

describe("playground page", () => {
  let dev: DevServer;
  let browser: BrowserContext;
  let page: Page;
  let userDataDir: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium; .ci/run does)`);
    dev = await startDevServer();
    userDataDir = mkdtempSync(join(tmpdir(), "edge-llama-chromium-"));
    browser = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: ARGS, headless: true });
    page = browser.pages()[0] ?? (await browser.newPage());
  });
  afterAll(async () => {
    await browser?.close();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
    await dev?.dispose();
  });

  const transcript = () => page.locator("#transcript").innerText();
  const status = () => page.locator("#status");
  const session = async (id: string) => (await (await fetch(`${dev.url}/v1/sessions/${id}`)).json()) as { token_count: number; text: string };
  const currentId = () => page.evaluate(() => localStorage.getItem("edge-llama.current"));

  async function generate(prompt: string, maxTokens: number): Promise<void> {
    await page.fill("#prompt", prompt);
    await page.fill("#max_tokens", String(maxTokens));
    await page.fill("#temperature", "0");
    await page.click("#send");
    await expect.poll(() => status().innerText(), { timeout: 60_000 }).toBe("done");
  }

  it("shows the model and the backend that runs it", async () => {
    await page.goto(dev.url);
    await expect.poll(() => page.locator("#model-line").innerText()).toMatch(/^stories260K\.gguf · llama · .* · backend wasm-(relaxed|simd128)$/);
    expect(await page.locator("#backend").innerText()).toMatch(/^wasm-(relaxed|simd128)$/);
  });

  it("streams a greedy story into the page, token by token, identical to llama.cpp's", async () => {
    // Every piece the page appends is a DOM mutation of the reply span: count them to see the stream arrive in parts.
    await page.evaluate(() => {
      const w = window as unknown as { pieces: number };
      w.pieces = 0;
      new MutationObserver((records) => (w.pieces += records.filter((r) => r.target instanceof HTMLElement && r.target.classList.contains("model")).length)).observe(document.getElementById("transcript")!, { childList: true, subtree: true });
    });
    const streamed = page.waitForResponse((r) => r.url().endsWith("/generate"));
    await generate(reference.prompt, 64);
    expect((await streamed).headers()["content-type"]).toContain("text/event-stream");
    expect(await page.evaluate(() => (window as unknown as { pieces: number }).pieces)).toBeGreaterThan(10);
    expect(await page.locator("#transcript .model").last().innerText()).toBe(reference.generatedText);
    expect(await transcript()).toBe(reference.prompt + reference.generatedText);
    expect(Number(await page.locator("#tps").innerText())).toBeGreaterThan(0);
    expect(await page.locator("#cache").innerText()).toMatch(/^\d+ \/ 512$/);
  });

  it("keeps the session across a reload and continues it", async () => {
    const id = (await currentId())!;
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    const before = await session(id);
    await page.reload();
    await expect.poll(transcript).toBe(before.text);
    expect(await page.locator(`#session-list button[data-id="${id}"]`).getAttribute("aria-current")).toBe("true");

    await generate("", 16); // an empty prompt continues the text
    const after = await session(id);
    expect(after.token_count).toBeGreaterThan(before.token_count);
    expect(after.token_count).toBeLessThanOrEqual(before.token_count + 16);
    expect(after.text.startsWith(before.text)).toBe(true);
    expect(await transcript()).toBe(after.text);
  });

  it("forks the session into a new one with the same text, then rewinds and deletes the fork", async () => {
    const parent = (await currentId())!;
    const parentInfo = await session(parent);
    await page.click("#fork");
    await expect.poll(() => status().innerText()).toMatch(/^forked into [0-9a-f]{8}$/);
    const fork = (await currentId())!;
    expect(fork).not.toBe(parent);
    expect(await page.locator("#session-list li").count()).toBe(2);
    expect((await session(fork)).text).toBe(parentInfo.text);
    await expect.poll(transcript).toBe(parentInfo.text);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, "playground.png"), fullPage: true });

    await page.fill("#rewind-tokens", "5");
    await page.click("#rewind-form button");
    await expect.poll(() => status().innerText()).toBe("rewound to 5 tokens");
    expect((await session(fork)).token_count).toBe(5);
    expect((await session(parent)).token_count).toBe(parentInfo.token_count);

    await page.click("#delete");
    await expect.poll(() => status().innerText()).toBe("session deleted");
    expect((await fetch(`${dev.url}/v1/sessions/${fork}`)).status).toBe(404);
    expect(await page.locator("#session-list li").count()).toBe(1);
  });

  it("chat mode streams the reply to a user message into a new session, as /v1/chat/completions renders it", async () => {
    await page.click("#new-session");
    await expect.poll(() => status().innerText()).toBe("new session");
    const id = (await currentId())!;
    await page.selectOption("#mode", "chat");
    await generate("Where did Lily go?", 24);
    const reply = await page.locator("#transcript .model").last().innerText();
    expect(reply.length).toBeGreaterThan(0);
    // The session holds the plain chat template's turn followed by the streamed reply.
    expect((await session(id)).text).toBe(`User: Where did Lily go?\nAssistant:${reply}`);
  });

  it("with API_KEY set, says the key is missing until the user enters it, then sends it as a bearer token", async () => {
    const locked = await startDevServer({ vars: { API_KEY: "playground-test-key" } });
    try {
      const p = await browser.newPage(); // another origin (port): its own localStorage
      await p.goto(locked.url);
      await expect.poll(() => p.locator("#model-line").innerText()).toMatch(/^model unavailable: missing API key.*open "API key" to enter it/);
      await p.click("summary:text('API key')");
      await p.fill("#api-key", "playground-test-key");
      await p.click("#key-form button");
      await expect.poll(() => p.locator("#model-line").innerText()).toMatch(/^stories260K\.gguf · llama · /);
      await p.fill("#prompt", "Once");
      await p.fill("#max_tokens", "8");
      await p.click("#send");
      await expect.poll(() => p.locator("#status").innerText(), { timeout: 60_000 }).toBe("done");
      expect((await p.locator("#transcript .model").last().innerText()).length).toBeGreaterThan(0);
      await p.close();
    } finally {
      await locked.dispose();
    }
  });
});
