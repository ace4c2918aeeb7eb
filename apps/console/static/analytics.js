// The analytics pages (dashboard, conversation review) work without script; this only
// logs out (POST /logout with the page's CSRF token).
(function () {
  "use strict";
  const button = document.getElementById("logout");
  if (!button) return;
  button.addEventListener("click", async () => {
    const token = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";
    try {
      await fetch("/logout", { method: "POST", headers: { "X-CSRF-Token": token }, credentials: "same-origin" });
    } finally {
      window.location.assign("/login");
    }
  });
})();
