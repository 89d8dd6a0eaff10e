// The playground's session list in localStorage: ids (the session's capability), titles and last known token counts.

const STORAGE = "edge-llama.sessions";
const CURRENT = "edge-llama.current";

/** Saved sessions, newest first: [{id, title, created, tokens}]. */
export function savedSessions() {
  try {
    const list = JSON.parse(localStorage.getItem(STORAGE) ?? "[]");
    return Array.isArray(list) ? list.filter((s) => typeof s?.id === "string") : [];
  } catch {
    return [];
  }
}

function save(list) {
  localStorage.setItem(STORAGE, JSON.stringify(list));
}

export function addSession(entry) {
  save([entry, ...savedSessions().filter((s) => s.id !== entry.id)]);
}

export function updateSession(id, fields) {
  save(savedSessions().map((s) => (s.id === id ? { ...s, ...fields } : s)));
}

export function removeSession(id) {
  save(savedSessions().filter((s) => s.id !== id));
  if (currentId() === id) setCurrentId(null);
}

export function currentId() {
  return localStorage.getItem(CURRENT);
}

export function setCurrentId(id) {
  if (id) localStorage.setItem(CURRENT, id);
  else localStorage.removeItem(CURRENT);
}
