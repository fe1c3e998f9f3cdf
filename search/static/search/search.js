// Progressive enhancement for the search page: suggestions while typing and
// "Use my location" (fills the hidden lat/lon fields and applies the distance). The page
// works without this file, except for finding where the visitor is.
document.addEventListener("DOMContentLoaded", () => {
  const input = document.querySelector("input[data-suggest-url]");
  const list = input && document.getElementById(input.getAttribute("list"));
  if (input && list) {
    let timer = null;
    let controller = null;
    let last = "";
    input.addEventListener("input", () => {
      const prefix = input.value.trim();
      window.clearTimeout(timer);
      if (!prefix || prefix === last) return;
      timer = window.setTimeout(async () => {
        last = prefix;
        if (controller) controller.abort();
        controller = new AbortController();
        try {
          const url = `${input.dataset.suggestUrl}?q=${encodeURIComponent(prefix)}`;
          const response = await fetch(url, {
            headers: { Accept: "application/json" },
            credentials: "same-origin",
            signal: controller.signal,
          });
          if (!response.ok) return;
          const body = await response.json();
          list.replaceChildren(
            ...body.suggestions.map((text) => {
              const option = document.createElement("option");
              option.value = text;
              return option;
            }),
          );
        } catch (error) {
          if (error.name !== "AbortError") list.replaceChildren();
        }
      }, 150);
    });
  }

  const locate = document.querySelector("[data-locate]");
  if (locate && "geolocation" in navigator) {
    const form = locate.closest("form");
    const status = form.querySelector("[data-locate-status]");
    locate.hidden = false;
    locate.addEventListener("click", () => {
      status.textContent = locate.dataset.busyText || "…";
      navigator.geolocation.getCurrentPosition(
        (position) => {
          // Rounded to about 100 m, like listing locations.
          form.elements.lat.value = position.coords.latitude.toFixed(3);
          form.elements.lon.value = position.coords.longitude.toFixed(3);
          form.requestSubmit();
        },
        () => {
          status.textContent = locate.dataset.failedText || "";
        },
        { maximumAge: 600000, timeout: 10000 },
      );
    });
  }
});
