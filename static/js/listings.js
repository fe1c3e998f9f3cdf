// Listing pages, progressive enhancement only: every form works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Ask before destructive actions (withdraw, delete a photo).
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
