// Registration pages: progressive enhancement only; every form works without it.

// Counts the seat hold down; the server still decides when the hold expires.
function startHoldTimers() {
  for (const element of document.querySelectorAll("[data-hold-expires]")) {
    const expires = new Date(element.dataset.holdExpires);
    const output = element.querySelector("[data-hold-remaining]");
    if (Number.isNaN(expires.getTime()) || !output) continue;
    const tick = () => {
      const seconds = Math.max(0, Math.round((expires - Date.now()) / 1000));
      const minutes = Math.floor(seconds / 60);
      output.textContent =
        seconds > 0
          ? ` (${minutes} min ${String(seconds % 60).padStart(2, "0")} s left)`
          : " (time is up: reload the page)";
      if (seconds > 0) window.setTimeout(tick, 1000);
    };
    tick();
  }
}

// A second click while the first submission travels would only return the same hold (the
// idempotency key), but disabling the button tells the person something is happening.
function preventDoubleSubmit() {
  for (const button of document.querySelectorAll("[data-submit-once]")) {
    button.form?.addEventListener("submit", () => {
      window.setTimeout(() => {
        button.disabled = true;
      }, 0);
    });
  }
}

function confirmBeforeSubmit() {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
}

// The tick boxes that ask for CE credit: inside a [data-ce-choice] element, all of them, or
// where it lists values (the add-ons that grant CE) in data-ce-values, those with such a value.
function ceChoiceInputs(block) {
  return [...block.querySelectorAll("[data-ce-choice]")].flatMap((choice) => {
    const inputs = [...choice.querySelectorAll("input[type=checkbox]")];
    if (!choice.hasAttribute("data-ce-values")) return inputs;
    const values = choice.dataset.ceValues.split(/\s+/).filter(Boolean);
    return inputs.filter((input) => values.includes(input.value));
  });
}

// Shows the license fields only while CE credit is chosen for that attendee.
function toggleLicenseFields() {
  for (const block of document.querySelectorAll("[data-attendee]")) {
    const licence = block.querySelector("[data-license-fields]");
    if (!licence) continue;
    const ceInputs = ceChoiceInputs(block);
    if (!ceInputs.length) continue;
    const update = () => {
      const wanted = ceInputs.some((input) => input.checked);
      const hasErrors = licence.querySelector("[aria-invalid=true]");
      licence.hidden = !wanted && !hasErrors;
    };
    for (const input of ceInputs) input.addEventListener("change", update);
    update();
  }
}

// Webinar sessions in the viewer's own zone, beside the event's zone. (Intl refuses dateStyle
// together with timeZoneName, so the parts are spelled out.)
function showViewerLocalTimes() {
  const format = new Intl.DateTimeFormat(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "numeric",
    minute: "2-digit",
    timeZoneName: "short",
  });
  for (const element of document.querySelectorAll("time[data-local-time]")) {
    const when = new Date(element.getAttribute("datetime"));
    const target = element.parentElement?.querySelector("[data-local-time-output]");
    if (Number.isNaN(when.getTime()) || !target) continue;
    target.textContent = `Your time: ${format.format(when)}`;
    target.hidden = false;
  }
}

function focusErrorSummary() {
  const summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
}

document.addEventListener("DOMContentLoaded", () => {
  showViewerLocalTimes();
  startHoldTimers();
  preventDoubleSubmit();
  confirmBeforeSubmit();
  toggleLicenseFields();
  focusErrorSummary();
});
