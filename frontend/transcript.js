// The transcript status page, while the worker builds a long transcript: fetch the page
// again every few seconds and swap in its status box, so the person waiting sees the
// download button appear (the box is an aria-live region, so it is announced). Without
// JavaScript the page keeps its "Check again" link, and the email still comes.

const MAX_WAIT_SECONDS = 30;
const GIVE_UP_AFTER_MS = 30 * 60 * 1000;

function statusBox(root) {
  return root.querySelector("[data-transcript-status]");
}

function setUpTranscriptRefresh() {
  const box = statusBox(document);
  const first = Number(box?.dataset.refreshSeconds);
  if (!box || !(first > 0)) return;
  const note = box.querySelector("[data-refresh-note]");
  if (note) note.hidden = false;
  const started = Date.now();
  let wait = first;

  async function check() {
    if (Date.now() - started > GIVE_UP_AFTER_MS) {
      if (note) note.hidden = true;
      return;
    }
    if (document.hidden) {
      setTimeout(check, wait * 1000);
      return;
    }
    try {
      const response = await fetch(window.location.href, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (response.ok) {
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = statusBox(page);
        if (fresh && !fresh.dataset.refreshSeconds) {
          // Ready or failed: show what the page says now, and stop asking.
          box.innerHTML = fresh.innerHTML;
          delete box.dataset.refreshSeconds;
          document.title = page.title || document.title;
          return;
        }
      }
    } catch {
      // Offline for a moment: try again later.
    }
    wait = Math.min(MAX_WAIT_SECONDS, Math.round(wait * 1.5));
    setTimeout(check, wait * 1000);
  }

  setTimeout(check, wait * 1000);
}

document.addEventListener("DOMContentLoaded", setUpTranscriptRefresh);
