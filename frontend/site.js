// Progressive enhancement for every page; the site works without it.

function setUpNavigationToggle() {
  const toggle = document.querySelector("[data-nav-toggle]");
  const menu = document.getElementById(toggle?.getAttribute("aria-controls") || "");
  if (!toggle || !menu) return;
  toggle.hidden = false;
  menu.dataset.collapsible = "true";
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", String(!open));
    menu.dataset.open = String(!open);
  });
}

// Shows <time data-local-time datetime="..."> in the viewer's own zone, beside the event's zone.
function showLocalTimes() {
  for (const element of document.querySelectorAll("time[data-local-time]")) {
    const when = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) continue;
    const formatted = when.toLocaleString(undefined, {
      dateStyle: "medium",
      timeStyle: "short",
      timeZoneName: "short",
    });
    const target = element.parentElement.querySelector("[data-local-time-output]");
    if (target) {
      target.textContent = `Your time: ${formatted}`;
      target.hidden = false;
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setUpNavigationToggle();
  showLocalTimes();
});
