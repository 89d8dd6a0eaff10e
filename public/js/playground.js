// The playground page: model info, the saved-session list (continue, fork, rewind, delete) and streamed generations.
import { api, apiKey, ApiError, setApiKey } from "./api.js";
import { samplingSettings, streamGeneration } from "./generate.js";
import { addSession, currentId, removeSession, savedSessions, setCurrentId, updateSession } from "./saved-sessions.js";

const $ = (id) => document.getElementById(id);
const ui = {
  transcript: $("transcript"),
  status: $("status"),
  list: $("session-list"),
  meta: $("session-meta"),
  prompt: $("prompt"),
  send: $("send"),
  stop: $("stop"),
  tps: $("tps"),
  cache: $("cache"),
  rewindTokens: $("rewind-tokens"),
};

let running = null; // AbortController of the generation in progress

function say(message) {
  ui.status.textContent = message;
}

function explain(e) {
  if (e instanceof ApiError && e.code === "invalid_api_key") return `${e.message} (open "API key" to enter it)`;
  return e instanceof Error ? e.message : String(e);
}

function appendSpan(cls, text) {
  const span = document.createElement("span");
  span.className = cls;
  span.textContent = text;
  ui.transcript.append(span);
  ui.transcript.scrollTop = ui.transcript.scrollHeight;
  return span;
}

// ---- model ----

async function loadModel() {
  try {
    const m = await api("GET", "/v1/model");
    const c = m.config;
    $("model-line").textContent = `${m.id} · ${m.architecture} · ${(m.file_bytes / 2 ** 20).toFixed(2)} MiB · backend ${m.backend}`;
    $("backend").textContent = m.backend;
    const rows = {
      name: m.name, backend: `${m.backend} (setting: ${m.backend_setting})`, dim: c.dim, layers: c.n_layers, heads: `${c.n_heads} (KV ${c.n_kv_heads})`,
      "head dim": c.head_dim, "ffn dim": c.ffn_dim, vocab: c.vocab_size, "trained ctx": c.n_ctx_train, "default ctx": m.default_n_ctx,
      "rope base": c.rope_freq_base, "chat template": m.chat_template ? "from the model" : "plain (User:/Assistant:)",
      memory: `${(m.memory.used_bytes / 2 ** 20).toFixed(1)} of ${(m.memory.budget_bytes / 2 ** 20).toFixed(0)} MiB`,
    };
    $("model-config").replaceChildren(...Object.entries(rows).flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      const dd = document.createElement("dd");
      dt.textContent = k;
      dd.textContent = String(v);
      return [dt, dd];
    }));
  } catch (e) {
    $("model-line").textContent = `model unavailable: ${explain(e)}`;
  }
}

// ---- sessions ----

function renderList() {
  const current = currentId();
  ui.list.replaceChildren(...savedSessions().map((s) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.id = s.id;
    b.setAttribute("aria-current", String(s.id === current));
    b.textContent = s.title || "(empty)";
    const small = document.createElement("small");
    small.textContent = `${s.tokens ?? 0} tokens · ${s.id.slice(0, 8)}`;
    b.append(small);
    b.addEventListener("click", () => select(s.id));
    li.append(b);
    return li;
  }));
  for (const id of ["fork", "delete"]) $(id).disabled = !current;
  $("rewind-form").querySelector("button").disabled = !current;
}

function showSession(info) {
  ui.meta.textContent = `${info.token_count} tokens · ${info.evaluated_tokens} in KV cache · ctx ${info.settings.n_ctx} · ${(info.storage.stored_bytes / 1024).toFixed(1)} KiB stored`;
  ui.cache.textContent = `${info.evaluated_tokens} / ${info.settings.n_ctx}`;
  ui.rewindTokens.max = String(info.token_count);
  ui.rewindTokens.value = String(info.token_count);
  updateSession(info.id, { tokens: info.token_count });
}

/** Shows a saved session: its whole text as the server keeps it (continuing needs nothing else). */
async function select(id) {
  setCurrentId(id);
  renderList();
  ui.transcript.replaceChildren();
  try {
    const info = await api("GET", `/v1/sessions/${id}`);
    appendSpan("model", info.text);
    showSession(info);
    renderList();
    say("");
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      removeSession(id);
      renderList();
      say("that session no longer exists; removed from the list");
    } else say(explain(e));
  }
}

async function createSession() {
  const { max_tokens: _unused, ...sampling } = samplingSettings($("settings"));
  const info = await api("POST", "/v1/sessions", sampling);
  addSession({ id: info.id, title: "", created: info.created, tokens: 0 });
  setCurrentId(info.id);
  ui.transcript.replaceChildren();
  showSession(info);
  renderList();
  return info.id;
}

async function fork() {
  const id = currentId();
  const source = savedSessions().find((s) => s.id === id);
  const info = await api("POST", `/v1/sessions/${id}/fork`);
  addSession({ id: info.id, title: `${source?.title || "session"} (fork)`, created: info.created, tokens: info.token_count });
  await select(info.id);
  say(`forked into ${info.id.slice(0, 8)}`);
}

async function rewind(tokens) {
  const id = currentId();
  await api("POST", `/v1/sessions/${id}/rewind`, { tokens });
  await select(id);
  say(`rewound to ${tokens} tokens`);
}

async function remove() {
  const id = currentId();
  try {
    await api("DELETE", `/v1/sessions/${id}`);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
  removeSession(id);
  ui.transcript.replaceChildren();
  ui.meta.textContent = "none selected";
  ui.cache.textContent = "–";
  renderList();
  say("session deleted");
}

// ---- generation ----

async function generate() {
  const prompt = ui.prompt.value;
  const mode = $("mode").value;
  if (mode === "chat" && prompt.trim() === "") return say("chat mode needs a message");
  const id = currentId() ?? (await createSession());
  const saved = savedSessions().find((s) => s.id === id);
  if (saved && !saved.title && prompt) updateSession(id, { title: prompt.slice(0, 40) });
  running = new AbortController();
  ui.send.disabled = true;
  ui.stop.disabled = false;
  ui.tps.textContent = "…";
  ui.transcript.setAttribute("aria-busy", "true");
  if (prompt) appendSpan("user", mode === "chat" ? `\nUser: ${prompt}\n` : prompt);
  const out = appendSpan("model", "");
  say("generating…");
  try {
    const r = await streamGeneration({
      sessionId: id, mode, prompt, settings: samplingSettings($("settings")), signal: running.signal,
      onText: (t) => {
        out.textContent += t;
        ui.transcript.scrollTop = ui.transcript.scrollHeight;
      },
      onRate: (tps) => (ui.tps.textContent = tps.toFixed(1)),
    });
    if (r.decodeTps !== null) ui.tps.textContent = r.decodeTps.toFixed(1);
    // Why the reply ended (stop: the model's end-of-generation token or a stop string; length: max tokens), on hover.
    if (r.finishReason) {
      out.dataset.finish = r.finishReason;
      out.title = `finish: ${r.finishReason}`;
    }
    ui.prompt.value = "";
    say("done");
  } catch (e) {
    if (running.signal.aborted) say("stopped");
    else {
      appendSpan("error", explain(e));
      say(explain(e));
    }
  } finally {
    running = null;
    ui.send.disabled = false;
    ui.stop.disabled = true;
    ui.transcript.setAttribute("aria-busy", "false");
    try {
      showSession(await api("GET", `/v1/sessions/${id}`));
      renderList();
    } catch {
      // the status line already says what went wrong
    }
  }
}

// ---- wiring ----

const guarded = (fn) => async (ev) => {
  ev?.preventDefault();
  try {
    await fn(ev);
  } catch (e) {
    say(explain(e));
  }
};

$("prompt-form").addEventListener("submit", guarded(generate));
ui.prompt.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) $("prompt-form").requestSubmit();
});
ui.stop.addEventListener("click", () => running?.abort());
$("new-session").addEventListener("click", guarded(async () => {
  await createSession();
  say("new session");
}));
$("fork").addEventListener("click", guarded(fork));
$("delete").addEventListener("click", guarded(remove));
$("rewind-form").addEventListener("submit", guarded(() => rewind(Number(ui.rewindTokens.value))));
$("api-key").value = apiKey();
$("key-form").addEventListener("submit", guarded(async () => {
  setApiKey($("api-key").value.trim());
  say("key saved");
  await loadModel();
  if (currentId()) await select(currentId());
}));

renderList();
await loadModel();
if (currentId()) await select(currentId());
