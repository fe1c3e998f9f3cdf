// The book sell form, progressive enhancement only: without this file the "Look up"
// button posts the form and the page comes back filled. With it, the button asks the
// JSON endpoint and fills the fields in place, keeping everything else the seller typed.
document.addEventListener("DOMContentLoaded", () => {
  const fieldset = document.querySelector("[data-book-lookup-url]");
  if (!fieldset) return;
  const button = fieldset.querySelector("[data-book-lookup-button]");
  const status = document.getElementById("isbn-lookup-status");
  const field = (name) => fieldset.querySelector(`[name="attributes-${name}"]`);
  const isbn = field("isbn");
  if (!button || !status || !isbn) return;

  const show = (message, ok) => {
    status.textContent = message;
    status.classList.toggle("ok-note", Boolean(ok));
  };

  const fill = (book) => {
    const values = {
      book_title: book.title,
      authors: (book.authors || []).join("、"),
      publisher: book.publisher || "",
      year: book.year === null || book.year === undefined ? "" : String(book.year),
    };
    for (const [name, value] of Object.entries(values)) {
      const input = field(name);
      if (input) input.value = value;
    }
  };

  // Enter in the ISBN field looks the book up (elsewhere it saves, as on every form).
  isbn.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      button.click();
    }
  });

  button.addEventListener("click", async (event) => {
    event.preventDefault();
    const url = new URL(fieldset.dataset.bookLookupUrl, window.location.href);
    url.searchParams.set("isbn", isbn.value);
    button.disabled = true;
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const type = response.headers.get("Content-Type") || "";
      if (!type.includes("application/json")) throw new Error("not JSON");
      const answer = await response.json();
      if (!response.ok) {
        show(answer.message, false);
        isbn.setAttribute("aria-invalid", "true");
        isbn.focus();
        return;
      }
      isbn.removeAttribute("aria-invalid");
      isbn.value = answer.isbn;
      if (answer.found) fill(answer.book);
      show(answer.message, answer.found);
      if (!answer.found) {
        const title = field("book_title");
        if (title) title.focus();
      }
    } catch (error) {
      // Fall back to the page round trip, which works without this script.
      button.disabled = false;
      button.form.requestSubmit(button);
      return;
    } finally {
      button.disabled = false;
    }
  });
});
