"""Verify a downloaded credit report offline, with no database:

    python -m marketplace.credit.verify FILE.json [--key PUBLIC_KEY_BASE64]

--key pins the platform's published key (/.well-known/credit-keys.json); without it the
signature is checked against the key inside the file. Exit status 0 when every check
passes, 1 otherwise (tampered, wrong key, unreadable), 2 on wrong usage."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from marketplace.credit.signing import verify_report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m marketplace.credit.verify", description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--key", default=None, help="the platform's published public key (base64)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    try:
        bundle = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"INVALID: cannot read {args.file}: {exc}")
        return 1
    result = verify_report(bundle, trusted_public_key=args.key)
    for line in result.checks:
        print(f"ok    {line}")
    for line in result.problems:
        print(f"FAIL  {line}")
    report = bundle.get("report") if isinstance(bundle, dict) else None
    subject = (report or {}).get("subject", {}).get("id", "?") if isinstance(report, dict) else "?"
    print(("VALID" if result.valid else "INVALID") + f": credit report for user {subject}")
    return 0 if result.valid else 1


if __name__ == "__main__":
    sys.exit(main())
