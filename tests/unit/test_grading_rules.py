"""The pure grading evaluator against the four shipped rule sets."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grading.loading import RULESET_DIR, load_document
from grading.rules import AnswerError, content_hash, evaluate, parse_rule_set
from grading.schema import RuleSetInvalid, validate_rule_set

DOCS = {path.stem: load_document(path) for path in RULESET_DIR.glob("*.yaml")}
VEHICLES = parse_rule_set(DOCS["vehicles"])
PHONES = parse_rule_set(DOCS["electronics-mobile"])
BOOKS = parse_rule_set(DOCS["books"])
FURNITURE = parse_rule_set(DOCS["furniture"])

# --- vehicles (GB/T 30323-2013) -------------------------------------------------------

CLEAN_CAR = {
    "frame_defects": [],
    "flood_damage": False,
    "fire_damage": False,
    "body_defects": [],
    "oil_leak": "none",
    "coolant": "normal",
    "belts_hoses": "good",
    "battery_terminals": "clean",
    "wiring": "intact",
    "engine_mounts": "ok",
    "warning_lights": "none",
    "seats": "good",
    "airbags": "intact",
    "air_conditioning": "works",
    "windows_locks_faulty": False,
    "starting": "normal",
    "idle": "stable",
    "exhaust_smoke": "normal",
    "instrument_faults": "normal",
    "engine_noise": "none",
    "acceleration": "normal",
    "braking": "normal",
    "steering": "normal",
    "shifting": "smooth",
    "suspension_noise": "none",
    "underbody_rust": "none",
    "fluid_leaks": "none",
    "exhaust_system": "ok",
    "suspension_parts": "ok",
    "tyres": "good",
}
# Deductions per section that bring a clean car (100) down to the wanted total.
LOSE_8 = {"oil_leak": "leak", "belts_hoses": "worn", "battery_terminals": "corroded"}  # engine bay −8
LOSE_ALL_ENGINE = {
    "oil_leak": "leak",
    "coolant": "leaking",
    "belts_hoses": "cracked",
    "wiring": "damaged",
    "engine_mounts": "broken",
}  # −21 → 0
LOSE_ALL_CABIN = {"warning_lights": "some", "seats": "torn", "airbags": "missing"}  # −10 → 0
LOSE_ALL_STARTUP = {
    "starting": "fails",
    "idle": "rough",
    "exhaust_smoke": "abnormal",
    "engine_noise": "noise",
}  # −23 → 0
LOSE_ALL_ROAD = {"acceleration": "weak", "braking": "poor", "steering": "play", "shifting": "slipping"}  # −18 → 0
LOSE_ALL_CHASSIS = {
    "underbody_rust": "structural",
    "fluid_leaks": "some",
    "exhaust_system": "damaged",
    "suspension_parts": "worn",
    "tyres": "unsafe",
}  # −17 → 0


def scratches(points: float) -> list[dict[str, str]]:
    """Degree-2 scratches cost 1 point each on the body section."""
    panels = [
        "hood",
        "fender_fl",
        "fender_fr",
        "door_fl",
        "door_fr",
        "door_rl",
        "door_rr",
        "quarter_rl",
        "quarter_rr",
        "trunk",
        "roof",
        "bumper_front",
        "bumper_rear",
        "glass",
    ]
    return [{"position": panels[i % len(panels)], "defect": "HH", "severity": "2"} for i in range(int(points))]


def car(**changes):
    return {**CLEAN_CAR, **changes}


@pytest.mark.parametrize(
    ("answers", "score", "grade"),
    [
        (car(), 100, "一级"),
        (car(**LOSE_8), 92, "一级"),
        (car(**LOSE_ALL_ENGINE, body_defects=scratches(20)), 60, "二级"),
        (car(**LOSE_ALL_ENGINE, body_defects=scratches(20), windows_locks_faulty=True), 59, "三级"),
        (
            car(
                **LOSE_ALL_ENGINE,
                **LOSE_ALL_CABIN,
                **LOSE_ALL_STARTUP,
                **LOSE_ALL_CHASSIS,
                body_defects=scratches(20),
                acceleration="weak",
                steering="play",
                suspension_noise="noise",
            ),
            7,
            "四级",
        ),
        (
            car(
                **LOSE_ALL_ENGINE,
                **LOSE_ALL_CABIN,
                **LOSE_ALL_STARTUP,
                body_defects=scratches(20),
                braking="pulls",
                steering="play",
                underbody_rust="surface",
                fluid_leaks="some",
            ),
            19,
            "四级",
        ),
        (
            car(
                **LOSE_ALL_ENGINE,
                **LOSE_ALL_CABIN,
                **LOSE_ALL_STARTUP,
                body_defects=scratches(20),
                braking="pulls",
                steering="play",
                underbody_rust="surface",
                exhaust_system="damaged",
            ),
            20,
            "三级",
        ),
    ],
)
def test_gbt_30323_score_bands(answers, score, grade):
    result = evaluate(VEHICLES, answers)
    assert result.score == score
    assert result.grade == grade
    assert result.sellable


def test_section_scores_are_reported_and_never_negative():
    result = evaluate(VEHICLES, car(**LOSE_ALL_ENGINE))
    assert result.section_scores == {
        "body": 20,
        "engine_bay": 0,
        "cabin": 10,
        "startup": 20,
        "road_test": 15,
        "chassis": 15,
    }


@pytest.mark.parametrize("defect", ["BX", "NQ", "GH", "SH", "ZZ"])
def test_a_welded_or_otherwise_damaged_frame_is_grade_5_whatever_the_score(defect):
    answers = car(frame_defects=[{"position": "b_pillar_left", "defect": defect}])
    result = evaluate(VEHICLES, answers)
    assert result.score == 100  # a perfect score does not help
    assert result.grade == "五级"
    assert result.gate_failures == ("accident_car",)
    explanation = result.explanation("zh")
    assert any("左B柱" in line for line in explanation)
    assert any("事故车" in line and "五级" in line for line in explanation)


@pytest.mark.parametrize("flag", ["flood_damage", "fire_damage"])
def test_flood_and_fire_damage_are_excluded_like_accident_cars(flag):
    assert evaluate(VEHICLES, car(**{flag: True})).grade == "五级"


# --- phones, tablets, laptops ------------------------------------------------------------

GOOD_PHONE = {
    "imei_blacklisted": False,
    "imei_altered": False,
    "activation_lock_on": False,
    "frp_on": False,
    "mdm_enrolled": False,
    "powers_on": True,
    "battery_swollen": False,
    "liquid_damage": False,
    "battery_health": 96,
    "faults": [],
    "body_marks": "none",
    "screen_scratches": "none",
    "screen_cracked": False,
}


def phone(**changes):
    return {**GOOD_PHONE, **changes}


def test_a_flawless_phone_is_s():
    assert evaluate(PHONES, phone()).grade == "S"


@pytest.mark.parametrize(
    "lock",
    [
        "frp_on",
        "activation_lock_on",
        "mdm_enrolled",
        "imei_blacklisted",
        "imei_altered",
        "battery_swollen",
        "liquid_damage",
    ],
)
def test_a_phone_with_a_lock_or_safety_problem_cannot_be_graded_sellable(lock):
    result = evaluate(PHONES, phone(**{lock: True}))
    assert result.sellable is False
    assert result.grade is None
    assert result.gate_failures


def test_a_phone_that_does_not_power_on_is_not_sellable():
    assert evaluate(PHONES, phone(powers_on=False)).sellable is False


@pytest.mark.parametrize(
    ("health", "best"), [(96, "S"), (90, "S"), (89, "A"), (85, "A"), (84, "B"), (80, "B"), (79, "D")]
)
def test_battery_thresholds(health, best):
    assert evaluate(PHONES, phone(battery_health=health)).grade == best


def test_a_battery_at_84_percent_cannot_be_a_even_in_perfect_condition():
    result = evaluate(PHONES, phone(battery_health=84))
    assert result.grade == "B"
    assert any("84%" in line for line in result.explanation("en"))


@pytest.mark.parametrize(
    ("changes", "grade"),
    [
        ({"body_marks": "invisible_20cm"}, "A"),
        ({"body_marks": "invisible_50cm"}, "B"),
        ({"body_marks": "visible"}, "C"),
        ({"screen_scratches": "light"}, "C"),
        ({"screen_cracked": True}, "D"),
        ({"faults": [{"position": "speaker", "defect": "intermittent"}]}, "D"),
    ],
)
def test_appearance_and_function_caps(changes, grade):
    assert evaluate(PHONES, phone(**changes)).grade == grade


def test_replaced_parts_are_disclosed_in_the_explanation():
    result = evaluate(PHONES, phone(replaced_parts=["battery", "screen"]))
    assert result.grade == "S"
    assert any("Disclosed" in line and "battery" in line and "screen" in line for line in result.explanation("en"))


# --- books -------------------------------------------------------------------------------

BOOK = {
    "condition": "fine",
    "ex_library": False,
    "book_club_edition": False,
    "dust_jacket_missing": False,
    "missing_pages": False,
    "mould": False,
    "water_damage": False,
}


def test_book_condition_and_flags():
    assert evaluate(BOOKS, BOOK).grade == "fine"
    assert evaluate(BOOKS, {**BOOK, "ex_library": True}).grade == "good"
    assert evaluate(BOOKS, {**BOOK, "dust_jacket_missing": True}).grade == "very_good"


@pytest.mark.parametrize("flag", ["missing_pages", "mould", "water_damage"])
def test_missing_pages_mould_and_water_damage_block(flag):
    assert evaluate(BOOKS, {**BOOK, flag: True}).sellable is False


def test_textbook_rules_apply_only_to_textbooks():
    with pytest.raises(AnswerError) as exc:
        evaluate(BOOKS, BOOK, facts={"is_textbook": True})
    assert exc.value.errors["highlighted_pages"][0] == "missing_item"
    textbook = {**BOOK, "highlighted_pages": 30, "edition_matches_isbn": True}
    assert evaluate(BOOKS, textbook, facts={"is_textbook": True}).grade == "good"
    wrong = {**textbook, "edition_matches_isbn": False}
    assert evaluate(BOOKS, wrong, facts={"is_textbook": True}).gate_failures == ("wrong_edition",)


# --- furniture -----------------------------------------------------------------------------

CHEST = {
    "structurally_sound": True,
    "recalled_model": False,
    "part_faults": [],
    "overall": "light_marks",
    "surface_defects": [],
}
TALL_CHEST = {"clothing_storage": True, "height_cm": 100, "upholstered": False}


def test_a_tall_chest_of_drawers_needs_a_tip_over_restraint():
    with pytest.raises(AnswerError):
        evaluate(FURNITURE, CHEST, facts=TALL_CHEST)
    assert evaluate(FURNITURE, {**CHEST, "tip_over_restraint_included": True}, facts=TALL_CHEST).grade == "very_good"
    result = evaluate(FURNITURE, {**CHEST, "tip_over_restraint_included": False}, facts=TALL_CHEST)
    assert (result.sellable, result.gate_failures) == (False, ("tip_over",))
    low = {**TALL_CHEST, "height_cm": 60}
    assert evaluate(FURNITURE, CHEST, facts=low).sellable


def test_upholstered_items_need_a_label_photo_and_a_hygiene_declaration():
    sofa = {"clothing_storage": False, "height_cm": 80, "upholstered": True}
    result = evaluate(FURNITURE, {**CHEST, "flammability_label_photo": False, "hygiene_declaration": True}, facts=sofa)
    assert result.gate_failures == ("no_flammability_label",)
    assert evaluate(
        FURNITURE, {**CHEST, "flammability_label_photo": True, "hygiene_declaration": True}, facts=sofa
    ).sellable


def test_recalled_or_unsound_furniture_is_not_sellable():
    assert not evaluate(FURNITURE, {**CHEST, "recalled_model": True}).sellable
    assert not evaluate(FURNITURE, {**CHEST, "structurally_sound": False}).sellable


# --- answers are checked ------------------------------------------------------------------


def test_unknown_items_wrong_types_and_missing_items_are_all_reported():
    answers = phone(colour="blue", battery_health="ninety", frp_on="no")
    del answers["body_marks"]
    with pytest.raises(AnswerError) as exc:
        evaluate(PHONES, answers)
    assert {key: code for key, (code, _) in exc.value.errors.items()} == {
        "colour": "unknown_item",
        "battery_health": "wrong_type",
        "frp_on": "wrong_type",
        "body_marks": "missing_item",
    }


def test_bad_option_range_and_defect_codes_are_refused():
    for bad in (
        phone(body_marks="shiny"),
        phone(battery_health=120),
        phone(faults=[{"position": "antenna", "defect": "not_working"}]),
    ):
        with pytest.raises(AnswerError):
            evaluate(PHONES, bad)
    with pytest.raises(AnswerError):
        evaluate(VEHICLES, car(frame_defects=[{"position": "b_pillar_left", "defect": "XX"}]))


# --- rule-set documents ------------------------------------------------------------------


def test_every_shipped_rule_set_is_valid_and_cites_its_sources():
    for document in DOCS.values():
        validate_rule_set(document)
        rule_set = parse_rule_set(document)
        assert all(item.citation for item in rule_set.items().values())
        assert all(gate.citation for gate in rule_set.gates)


def test_the_schema_rejects_broken_documents():
    broken = copy.deepcopy(DOCS["books"])
    broken["gates"][0]["when"] = {"item": "no_such_item", "is": True}
    broken["sections"][0]["items"][0]["options"][1]["cap"] = "mint"
    del broken["sections"][0]["items"][1]["citation"]
    with pytest.raises(RuleSetInvalid) as exc:
        validate_rule_set(broken)
    assert any("citation" in problem for problem in exc.value.problems)


def test_the_content_hash_ignores_key_order_but_not_content():
    document = DOCS["books"]
    reordered = dict(reversed(list(document.items())))
    assert content_hash(reordered) == content_hash(document)
    changed = copy.deepcopy(document)
    changed["grades"][0]["label"]["en"] = "Mint"
    assert content_hash(changed) != content_hash(document)


# --- properties ------------------------------------------------------------------------------

FRAME = [
    (p.key, d.key)
    for p in VEHICLES.items()["frame_defects"].positions
    for d in VEHICLES.items()["frame_defects"].defects
]
BODY = [
    (p.key, d.key, s.key)
    for p in VEHICLES.items()["body_defects"].positions
    for d in VEHICLES.items()["body_defects"].defects
    for s in VEHICLES.items()["body_defects"].severities
]
CHOICES = {key: [o.key for o in item.options] for key, item in VEHICLES.items().items() if item.type == "choice"}


@st.composite
def car_answers(draw):
    answers = dict(CLEAN_CAR)
    for key, options in CHOICES.items():
        answers[key] = draw(st.sampled_from(options))
    answers["windows_locks_faulty"] = draw(st.booleans())
    answers["body_defects"] = [
        {"position": p, "defect": d, "severity": s} for p, d, s in draw(st.lists(st.sampled_from(BODY), max_size=12))
    ]
    answers["frame_defects"] = [
        {"position": p, "defect": d} for p, d in draw(st.lists(st.sampled_from(FRAME), max_size=2))
    ]
    return answers


@settings(max_examples=150)
@given(car_answers(), st.sampled_from(BODY), st.sampled_from(FRAME), st.booleans())
def test_adding_a_defect_never_improves_the_grade(answers, body_defect, frame_defect, to_frame):
    before = evaluate(VEHICLES, answers)
    worse = copy.deepcopy(answers)
    if to_frame:
        worse["frame_defects"].append({"position": frame_defect[0], "defect": frame_defect[1]})
    else:
        worse["body_defects"].append(dict(zip(("position", "defect", "severity"), body_defect, strict=True)))
    after = evaluate(VEHICLES, worse)
    assert VEHICLES.rank(after.grade) >= VEHICLES.rank(before.grade)
    assert after.score <= before.score


@st.composite
def phone_answers(draw):
    answers = dict(GOOD_PHONE)
    answers["battery_health"] = draw(st.integers(0, 100))
    for key in ("body_marks", "screen_scratches"):
        answers[key] = draw(st.sampled_from([o.key for o in PHONES.items()[key].options]))
    answers["screen_cracked"] = draw(st.booleans())
    return answers


@settings(max_examples=150)
@given(car_answers(), st.sampled_from(FRAME))
def test_a_gate_failure_dominates_any_score(answers, frame_defect):
    answers["frame_defects"] = [{"position": frame_defect[0], "defect": frame_defect[1]}]
    assert evaluate(VEHICLES, answers).grade == "五级"


@settings(max_examples=100)
@given(phone_answers(), st.sampled_from(["frp_on", "activation_lock_on", "mdm_enrolled", "liquid_damage"]))
def test_a_not_sellable_gate_dominates_any_condition(answers, lock):
    assert evaluate(PHONES, {**answers, lock: True}).sellable is False


@settings(max_examples=100)
@given(car_answers())
def test_the_same_inputs_always_give_the_same_output(answers):
    shuffled = dict(reversed(list(copy.deepcopy(answers).items())))
    shuffled["body_defects"] = list(reversed(shuffled["body_defects"]))
    assert evaluate(VEHICLES, answers) == evaluate(VEHICLES, shuffled)
