// Progressive enhancement only: every form works without this file.
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    const button = select.form.querySelector("[data-autosubmit-button]");
    if (button) button.hidden = true;
    select.addEventListener("change", () => select.form.requestSubmit());
  }

  // The header menu: folded away behind a button on phones from the first paint (the "js"
  // class early.js sets; CSS shows it in full on wide screens). Without scripts the menu is
  // simply always shown.
  const toggle = document.querySelector("[data-menu-toggle]");
  const menu = document.querySelector("[data-menu]");
  if (toggle && menu) {
    const header = toggle.closest(".site-header");
    const setOpen = (open) => {
      toggle.setAttribute("aria-expanded", String(open));
      header.classList.toggle("menu-open", open);
    };
    toggle.addEventListener("click", () => setOpen(toggle.getAttribute("aria-expanded") !== "true"));
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && toggle.getAttribute("aria-expanded") === "true") {
        setOpen(false);
        toggle.focus();
      }
    });
  }

  // The listing page's buy bar links into the visitor's own buy panel: open the offer form
  // it points at, or go to the panel when that part is not there (e.g. not logged in).
  for (const link of document.querySelectorAll("[data-buy-bar-link]")) {
    link.addEventListener("click", (event) => {
      const target = document.getElementById(link.hash.slice(1)) || document.getElementById("buy");
      if (!target) return;
      event.preventDefault();
      if (target instanceof HTMLDetailsElement) target.open = true;
      target.scrollIntoView({ block: "start" });
      history.replaceState(null, "", `#${target.id}`);
    });
  }

  // On phones wide tables scroll sideways (site.css): one that does gets a tab stop, so
  // keyboard users can scroll it too; it loses it when the window widens.
  const markScrollableTables = () => {
    for (const table of document.querySelectorAll("main table")) {
      const scrolls = table.scrollWidth > table.clientWidth + 1;
      if (scrolls && !table.hasAttribute("tabindex")) {
        table.setAttribute("tabindex", "0");
        table.dataset.scrollFocus = "";
      } else if (!scrolls && "scrollFocus" in table.dataset) {
        table.removeAttribute("tabindex");
        delete table.dataset.scrollFocus;
      }
    }
  };
  markScrollableTables();
  window.addEventListener("resize", markScrollableTables);

  // Filter drawers start open where there is room for a sidebar.
  if (window.matchMedia("(min-width: 900px)").matches) {
    for (const drawer of document.querySelectorAll("details[data-open-wide]")) drawer.open = true;
  }
});
