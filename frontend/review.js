// Video pages: clicking a comment's time seeks the video; pausing fills the comment's time;
// a video still processing updates itself when it is ready.
function formatTime(seconds) {
  const whole = Math.floor(seconds);
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, "0")}`;
}

// While a video is processing, check its state now and then and reload when it changes.
function watchStatus() {
  const marker = document.querySelector("[data-status-url]");
  if (!marker) return;
  const check = () =>
    fetch(marker.dataset.statusUrl, { credentials: "same-origin" })
      .then((response) => response.json())
      .then((data) => {
        if (data.status !== marker.dataset.status) window.location.reload();
        else window.setTimeout(check, 5000);
      })
      .catch(() => window.setTimeout(check, 15000));
  window.setTimeout(check, 3000);
}

document.addEventListener("DOMContentLoaded", () => {
  watchStatus();
  const player = document.getElementById("review-player");
  if (!player) return;
  document.querySelectorAll("[data-seek]").forEach((button) => {
    button.addEventListener("click", () => {
      player.currentTime = Number(button.dataset.seek);
      player.focus();
      player.play().catch(() => {});
    });
  });
  const timeField = document.getElementById("id_comment-at");
  if (timeField) {
    const fill = () => {
      timeField.value = formatTime(player.currentTime);
    };
    player.addEventListener("pause", fill);
    player.addEventListener("seeked", fill);
    if (!timeField.value) fill();
  }
});
