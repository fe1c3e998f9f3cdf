// Loaded without defer in <head>, before the page is drawn: marks that scripts run, so the
// CSS can fold the phone menu and hide auto-submit buttons from the first paint instead of
// moving the page once site.js has run (a layout shift). Everything works without it.
document.documentElement.classList.add("js");
