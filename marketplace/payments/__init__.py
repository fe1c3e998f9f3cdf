"""Payment providers. Only `stripe_gateway` talks to Stripe (and imports `stripe`)."""
