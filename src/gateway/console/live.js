// Live updates of the inbox. Today: polling GET /tasks. The notifications stream (an SSE endpoint, when it
// lands) plugs in here: `watchInbox` would open it and call `changed` on each task event, keeping the poll as
// the fallback when the stream is absent or drops. Pages only see `watchInbox(changed) → stop`.

/** How often the inbox re-reads its tasks without a stream. */
export const INBOX_POLL_MS = 3000;

/** Calls `changed()` whenever the caller's tasks may have changed; returns a function that stops watching. */
export function watchInbox(changed, { pollMs = INBOX_POLL_MS } = {}) {
  let stopped = false;
  let timer;
  const tick = async () => {
    if (stopped) return;
    if (document.visibilityState !== 'hidden') await changed();
    if (!stopped) timer = setTimeout(tick, pollMs);
  };
  timer = setTimeout(tick, pollMs);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
