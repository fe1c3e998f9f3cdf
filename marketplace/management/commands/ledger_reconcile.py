"""Check that the money ledger reconciles: every transaction balances and every order's
entries agree with its payments and refunds. Exits non-zero when one does not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketplace.services.ledger import ledger_reconcile


class Command(BaseCommand):
    help = "Check that every order's ledger reconciles; exit 1 and list the problems when one does not."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--order", type=int, action="append", dest="orders", help="Only these order ids.")

    def handle(self, *args: Any, **options: Any) -> None:
        checked, problems = ledger_reconcile(options.get("orders"))
        for problem in problems:
            where = f"order {problem.order_id}" if problem.order_id else "ledger"
            self.stderr.write(f"{where}: {problem.message}")
        if problems:
            raise CommandError(
                f"{len(problems)} problem(s) in {checked} order(s) checked; the ledger does not reconcile."
            )
        self.stdout.write(self.style.SUCCESS(f"{checked} order(s) checked; the ledger reconciles."))
