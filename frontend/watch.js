// On-demand recordings (templates/courses/watch.html): each player resumes where the
// attendee stopped and reports what it actually played. The report is an interval of the
// recording played without a jump, sent about every 10 s of playing and on pause, end, seek
// and when the page is hidden. A seek ends the interval: the skipped part is never reported.
// The server merges the intervals and refuses more than one second of playing per second.

const BEAT_SECONDS = 10;
// timeupdate fires about four times a second; a larger step between two is a jump.
const LARGEST_STEP = 1.5;

const status = document.querySelector("[data-watch-status]");
const coursePercent = document.querySelector("[data-course-percent]");

function say(message) {
  if (status) status.textContent = message;
}

function watch(video) {
  const url = video.dataset.heartbeatUrl;
  const csrfToken = video.dataset.csrfToken;
  const percent = video.closest("section")?.querySelector("[data-recording-percent]");
  let from = null; // where the current unbroken stretch of playing began
  let last = null; // the furthest point of it seen so far
  let queue = Promise.resolve();

  function send(played_from, played_to, keepalive = false) {
    const body = JSON.stringify({ played_from, played_to, position: video.currentTime });
    // One report at a time, in order: each is measured against the one before.
    queue = queue.then(async () => {
      try {
        const response = await fetch(url, {
          method: "POST",
          credentials: "same-origin",
          keepalive,
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "X-CSRFToken": csrfToken,
          },
          body,
        });
        const data = await response.json().catch(() => ({}));
        if (!response.ok) {
          say(data.message || `Your progress was not saved (${response.status}).`);
          return;
        }
        if (percent) percent.textContent = `${data.recording_percent}%`;
        if (coursePercent && data.watched_percent !== null) {
          coursePercent.textContent = `${data.watched_percent}%`;
        }
        say("");
      } catch (error) {
        say("Your progress could not be saved: check your connection.");
      }
    });
  }

  // Report the stretch played so far and start the next one where it ended.
  function flush(keepalive = false) {
    if (from === null || last === null) return;
    send(from, Math.max(from, last), keepalive);
    from = video.paused ? null : last;
  }

  video.addEventListener("loadedmetadata", () => {
    const resumeAt = Number(video.dataset.resumeAt || 0);
    if (resumeAt > 0 && resumeAt < video.duration - 1) video.currentTime = resumeAt;
  });
  video.addEventListener("playing", () => {
    const now = video.currentTime;
    // Going on after buffering: the stretch before the stall is still unbroken.
    if (from !== null && now >= last && now - last <= LARGEST_STEP) return;
    from = now;
    last = now;
  });
  video.addEventListener("timeupdate", () => {
    if (video.paused || video.seeking || from === null) return;
    const now = video.currentTime;
    if (now < last || now - last > LARGEST_STEP) {
      // A jump the seeking events did not announce: close the stretch before it.
      flush();
      from = now;
      last = now;
      return;
    }
    last = now;
    if (last - from >= BEAT_SECONDS) flush();
  });
  video.addEventListener("seeking", () => {
    // currentTime is already the new place; `last` is still where playing stopped.
    flush();
    from = null;
  });
  video.addEventListener("seeked", () => {
    if (!video.paused) {
      from = video.currentTime;
      last = from;
    }
  });
  for (const name of ["pause", "ended"]) {
    video.addEventListener(name, () => {
      const now = video.currentTime;
      if (from === null) {
        send(now, now); // nothing played: keep the resume position only
        return;
      }
      if (now >= last && now - last <= LARGEST_STEP) last = now;
      flush();
      from = null;
    });
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush(true);
  });
  window.addEventListener("pagehide", () => flush(true));
}

for (const video of document.querySelectorAll("video[data-watch-recording][data-heartbeat-url]")) {
  watch(video);
}
