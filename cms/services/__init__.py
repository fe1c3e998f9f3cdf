"""Community services: access, flea markets, consignment events, book swaps."""
