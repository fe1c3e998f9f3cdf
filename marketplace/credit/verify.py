"""Verify a downloaded Xunhuan credit report offline, with no database.

Examples:
    python -m marketplace.credit.verify REPORT.json --keys credit-keys.json
    python -m marketplace.credit.verify REPORT.json --trust sha256:FINGERPRINT

A report carries the public key it was signed with, but anyone can alter a report and
re-sign it with a key of their own, so that key is used only when it matches a trust
anchor obtained from the platform itself. Give at least one:

  --keys FILE          the keys document saved from the platform's site at
                       /.well-known/credit-keys.json (or /api/v1/credit/keys); it also
                       lists revoked keys, and reports signed after a key's revocation fail
  --trust FINGERPRINT  the platform's key fingerprint shown next to "Download signed credit
                       report" on the My credit page (64 hex digits; a "sha256:" prefix and
                       ":" separators are accepted)
  --key BASE64         the platform's public key itself (same as pinning its fingerprint)

Each option may be repeated; the report must be signed by one of the keys given. Only
the keys document says whether a key was revoked: a pinned fingerprint or key alone
cannot, so add --keys when you can.

Exit status:
  0  VALID    signed by the platform's key, unchanged, key not revoked when signed
  1  INVALID  the report was read and fails a check: changed after signing, signed by
              a key that is not the platform's, signed after the key was revoked, or
              not a Xunhuan credit report
  2  NO VERDICT wrong usage, no trust anchor, or a report or keys file that cannot
              be read, is not JSON, or is not a keys document (message on stderr)"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from marketplace.credit.signing import TrustAnchorError, TrustAnchors, verify_report

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_NO_VERDICT = 2

NO_ANCHOR = (
    "No trust anchor: the key inside a report cannot vouch for itself.\n"
    "Download the platform's keys document from its site at /.well-known/credit-keys.json\n"
    "(for example `curl -o credit-keys.json https://<site>/.well-known/credit-keys.json`) and\n"
    "pass --keys credit-keys.json, or pass --trust FINGERPRINT with the key fingerprint shown\n"
    "on the My credit page next to the report download."
)


def _parser() -> argparse.ArgumentParser:
    summary, _, details = (__doc__ or "").partition("\n\n")
    parser = argparse.ArgumentParser(
        prog="python -m marketplace.credit.verify",
        description=summary,
        epilog=details,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("report", metavar="REPORT.json", help="the downloaded credit report")
    parser.add_argument(
        "--keys",
        metavar="FILE",
        action="append",
        default=[],
        help="keys document saved from /.well-known/credit-keys.json",
    )
    parser.add_argument(
        "--trust",
        metavar="FINGERPRINT",
        action="append",
        default=[],
        help="pinned SHA-256 fingerprint of the platform's signing key",
    )
    parser.add_argument(
        "--key",
        metavar="BASE64",
        action="append",
        default=[],
        help="pinned public key of the platform (base64), an alternative to --trust",
    )
    return parser


class _NoVerdict(Exception):
    """The verifier cannot reach a verdict (exit 2); the message says what to do."""


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise _NoVerdict(f"cannot read the {what} {path}: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or wrong usage (2): argparse has printed why
        return EXIT_NO_VERDICT if exc.code else EXIT_VALID
    try:
        trust = TrustAnchors.build(
            documents=[_read_json(path, "keys document") for path in args.keys],
            fingerprints=args.trust,
            public_keys=args.key,
        )
        if not trust:
            raise _NoVerdict(NO_ANCHOR)
        bundle = _read_json(args.report, "report")
    except (_NoVerdict, TrustAnchorError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NO_VERDICT

    result = verify_report(bundle, trust=trust)
    for line in result.checks:
        print(f"ok    {line}")
    for line in result.warnings:
        print(f"WARN  {line}")
    for line in result.problems:
        print(f"FAIL  {line}")
    report = bundle.get("report") if isinstance(bundle, dict) else None
    subject = report.get("subject") if isinstance(report, dict) else None
    subject_id = subject.get("id", "?") if isinstance(subject, dict) else "?"
    print(("VALID" if result.valid else "INVALID") + f": credit report for user {subject_id}")
    return EXIT_VALID if result.valid else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
