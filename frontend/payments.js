// The "payment processing" page: poll the order's status and show the confirmation as soon as
// the payment is settled. Without JavaScript the page's "Check again" link does the same.

const POLL_EVERY_MS = 2000;
const GIVE_UP_AFTER = 90; // polls (3 minutes); the page then asks the person to check later

function watchPaymentStatus() {
  const box = document.querySelector("[data-payment-status-url]");
  if (!box) return;
  const url = box.getAttribute("data-payment-status-url");
  let polls = 0;
  const poll = async () => {
    polls += 1;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok) {
        const status = await response.json();
        if (status.done) {
          window.location.reload();
          return;
        }
      }
    } catch {
      // A dropped connection is not a failed payment: keep polling.
    }
    if (polls < GIVE_UP_AFTER) window.setTimeout(poll, POLL_EVERY_MS);
  };
  window.setTimeout(poll, POLL_EVERY_MS);
}

document.addEventListener("DOMContentLoaded", watchPaymentStatus);
