"""Verify a downloaded erasure certificate offline, with no database:

    python -m wipe_cert.verify FILE.json

Exit status 0 when every check passes, 1 otherwise."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from wipe_cert.signing import verify_bundle


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        bundle = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"INVALID: cannot read {args[0]}: {exc}")
        return 1
    result = verify_bundle(bundle)
    for line in result.checks:
        print(f"ok    {line}")
    for line in result.problems:
        print(f"FAIL  {line}")
    payload = bundle.get("payload") or {}
    print(("VALID" if result.valid else "INVALID") + f": certificate {payload.get('certificate_id', '?')}")
    return 0 if result.valid else 1


if __name__ == "__main__":
    sys.exit(main())
