// Review page: clicking a comment's time seeks the video; pausing fills the comment's time.
function formatTime(seconds) {
  const whole = Math.floor(seconds);
  const minutes = Math.floor(whole / 60);
  return `${minutes}:${String(whole % 60).padStart(2, "0")}`;
}

document.addEventListener("DOMContentLoaded", () => {
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
