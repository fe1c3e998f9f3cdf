"""Verify a downloaded erasure certificate offline, with no database and no network.

Trust comes from outside the certificate, never from keys inside it: give the platform's
keys document (saved from https://<site>/.well-known/erasure-keys.json) with --keys,
and/or the platform key's fingerprint with --trust (printed on that document and on the
site's verification pages; pin it once, from a source you trust). A current keys
document also reports provider keys and certificates revoked since the bundle was
downloaded.

Exit status: 0 the certificate is valid; 1 it is not (forged, changed, revoked, not in
the log, signed by an unknown key); 2 the command could not check it (wrong usage, no
trust anchor, a file that cannot be read)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wipe_cert.payload import identifier_matches
from wipe_cert.signing import anchors_from, verify_bundle

EXIT_VALID, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
EPILOG = """exit status:
  0  VALID: every check passed
  1  INVALID: a check failed (the reasons are printed)
  2  not checked: wrong usage, no trust anchor, or a file that cannot be read

examples:
  python -m wipe_cert.verify certificate.json --keys erasure-keys.json
  python -m wipe_cert.verify certificate.json --trust 3f1c…(64 hex digits)
  python -m wipe_cert.verify certificate.json --keys erasure-keys.json --identifier imei=356938035643809
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m wipe_cert.verify",
        description="Verify a Xunhuan erasure certificate bundle offline against trust anchors from outside it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("bundle", help="the certificate bundle (JSON) downloaded from the verification page")
    parser.add_argument("--keys", metavar="FILE", help="the keys document saved from /.well-known/erasure-keys.json")
    parser.add_argument(
        "--trust",
        metavar="FINGERPRINT",
        action="append",
        default=[],
        help="a pinned platform key fingerprint (SHA-256 of the public key, hex); may be repeated",
    )
    parser.add_argument(
        "--identifier",
        metavar="KIND=VALUE",
        action="append",
        default=[],
        help="check the device in hand: serial=…, imei=…, meid=… or medium_serial=… (needs a bundle with its "
        "opening, downloaded by the seller, the buyer of a completed order, the provider or staff)",
    )
    return parser


def _read_json(path: str, what: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SystemExit(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise SystemExit(f"the {what} {path} is not JSON: {exc}") from exc


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_VALID
    if not args.keys and not args.trust:
        print(
            "error: no trust anchor. Save the platform's keys document from /.well-known/erasure-keys.json and pass "
            "--keys FILE, or pass the platform key fingerprint with --trust FINGERPRINT.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        bundle = _read_json(args.bundle, "certificate bundle")
        keys_document = _read_json(args.keys, "keys document") if args.keys else None
        anchors = anchors_from(keys_document, args.trust)
    except SystemExit as exc:
        print(f"error: {exc.code}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    result = verify_bundle(bundle, anchors)
    payload = bundle.get("payload") if isinstance(bundle, dict) else None
    payload = payload if isinstance(payload, dict) else {}
    opening = bundle.get("opening") if isinstance(bundle, dict) else None
    for item in args.identifier:
        kind, _sep, value = item.partition("=")
        if not isinstance(opening, dict) or "salt" not in opening:
            result.fail(
                "the bundle has no opening: download it while logged in as the seller or buyer to check a device"
            )
        elif identifier_matches(payload, str(opening["salt"]), kind.strip(), value.strip()):
            result.ok(f"the {kind.strip()} of the device in hand matches the certificate")
        else:
            result.fail(f"the {kind.strip()} {value.strip()} is not the one this certificate is for")
    for line in result.checks:
        print(f"ok    {line}")
    for line in result.problems:
        print(f"FAIL  {line}")
    print(("VALID" if result.valid else "INVALID") + f": certificate {payload.get('certificate_id', '?')}")
    return EXIT_VALID if result.valid else EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
