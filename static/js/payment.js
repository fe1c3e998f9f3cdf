// The card form of the order page. Stripe.js (or localstripe's stand-in, from
// STRIPE_JS_URL) turns the card into a token; the server authorises the amount with it.
// Without JavaScript the page explains that card entry needs it; cash orders never do.
document.addEventListener("DOMContentLoaded", async () => {
  const form = document.querySelector("[data-stripe-form]");
  const action = document.querySelector("[data-stripe-action]");
  if (typeof Stripe === "undefined") {
    if (form) form.querySelector("[data-card-errors]").textContent = form.dataset.unavailable;
    return;
  }
  if (form) {
    const stripe = Stripe(form.dataset.publishableKey);
    const card = stripe.elements().create("card");
    card.mount(form.querySelector("[data-card-element]"));
    const errors = form.querySelector("[data-card-errors]");
    const tokenInput = form.querySelector("[data-stripe-token]");
    const button = form.querySelector("[data-pay-button]");
    form.addEventListener("submit", async (event) => {
      if (tokenInput.value) return;
      event.preventDefault();
      errors.textContent = "";
      button.disabled = true;
      let result;
      try {
        result = await stripe.createToken(card);
      } catch (error) {
        result = { error };
      }
      if (!result || result.error || !result.token) {
        const message = result && result.error && result.error.message;
        errors.textContent = message && message !== "Bad request" ? message : form.dataset.missingCard;
        button.disabled = false;
        return;
      }
      tokenInput.value = result.token.id;
      form.submit();
    });
  }
  if (action) {
    // 3-D Secure: the bank asks the card holder to confirm, then the server checks.
    const stripe = Stripe(action.dataset.publishableKey);
    await stripe.confirmCardPayment(action.dataset.clientSecret);
    const done = document.querySelector("[data-stripe-action-done]");
    if (done) done.submit();
  }
});
