"""The nwipe log importer against logs of real nwipe 0.33 runs.

tests/fixtures/nwipe/make_corpus.sh ran nwipe on loop devices — every method it offers,
with verification off / last / all and blanking on / off, plus interrupted, truncated,
failing and multi-device runs — and wrote corpus.csv with what each run is known to
have done (from its command line and nwipe's source, not from the importer). Each row
is checked field by field, then the platform's acceptance rules give the verdict."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from tests.wipe import laptop_payload
from wipe_cert.acceptance import Outcome, decide
from wipe_cert.importers import ReportIncomplete, import_report
from wipe_cert.payload import validate_payload

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "nwipe"
ROWS = list(csv.DictReader((CORPUS / "corpus.csv").open(encoding="utf-8")))
METHODS = ("dod522022m", "dodshort", "gutmann", "ops2", "random", "zero", "one", "verify_zero", "verify_one", "is5enh")


def row_id(row: dict[str, str]) -> str:
    return f"{row['file']}#{row['medium']}"


def test_the_corpus_covers_every_method_verification_and_blanking_of_nwipe_0_33():
    files = {row["file"] for row in ROWS}
    for method, verify, blank in itertools.product(METHODS, ("off", "last", "all"), ("blank", "noblank")):
        assert f"{method}-verify-{verify}-{blank}.log" in files
    assert files == {path.name for path in (CORPUS / "logs").glob("*.log")}
    verdicts = {row["verdict"].split(":")[0] for row in ROWS}
    assert verdicts == {"accepted", "rejected", "refused"}


def expect_count(expected: str, actual: int) -> None:
    if expected == "N>0":
        assert actual > 0
    else:
        assert actual == int(expected)


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_each_log_imports_to_what_the_run_did_and_gets_its_verdict(row):
    data = (CORPUS / "logs" / row["file"]).read_bytes()
    if row["verdict"].startswith("refused:"):
        with pytest.raises(ReportIncomplete) as refused:
            import_report("nwipe_log", data)
        assert refused.value.code == row["verdict"].removeprefix("refused:")
        return
    report = import_report("nwipe_log", data)
    medium = report.media[int(row["medium"])]
    assert medium["method_name"] == row["method"]
    assert (medium["passes"], medium["random_passes"]) == (int(row["passes"]), int(row["random_passes"]))
    assert medium["blanking"] is (row["blanking"] == "true")
    assert medium["verification"] == {"method": row["verification_method"], "result": row["verification_result"]}
    expect_count(row["pass_errors"], medium["errors"]["pass"])
    expect_count(row["verification_errors"], medium["errors"]["verification"])
    expect_count(row["sync_errors"], medium["errors"]["sync"])
    assert medium["result"] == row["result"]
    assert medium["capacity_bytes"] == int(row["capacity_bytes"])
    assert (medium["model"], medium["tool"]) == ("Loopback device", {"name": "nwipe", "version": "0.33"})
    if row["serial"] != "*":
        assert medium.get("serial", "") == row["serial"]

    payload = laptop_payload(media=[medium])
    validate_payload(payload)
    decision = decide(payload)
    failing = {reason.code for reason in decision.reasons if reason.outcome == Outcome.FAIL}
    if row["verdict"] == "accepted":
        assert decision.outcome == Outcome.PASS, decision.reasons
    else:
        assert decision.outcome == Outcome.FAIL
        assert failing == set(row["verdict"].removeprefix("rejected:").split("+"))
