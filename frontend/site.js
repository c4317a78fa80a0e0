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

document.addEventListener("DOMContentLoaded", () => {
  setUpNavigationToggle();
});
