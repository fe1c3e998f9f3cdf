"""Rule-set versions, self-assessment, the appraisal queue, signing and valuation."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import IO, Any

import rfc8785
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from grading.loading import shipped_documents
from grading.models import (
    COUNTED_REVIEW,
    Appraisal,
    AppraisalEvidence,
    AppraisalKind,
    AppraisalRequest,
    AppraisalRequestStatus,
    AppraisalReview,
    AppraiserCredential,
    PriceFlag,
    RuleSetStatus,
    RuleSetVersion,
    ValuationParameters,
)
from grading.rules import AnswerError, RuleSet, evaluate, parse_rule_set
from grading.rules import content_hash as document_hash
from grading.schema import RuleSetInvalid, validate_rule_set
from grading.valuation import Valuation, ValuationInput, ValuationParams, ValuationUnavailable, value
from marketplace.credit.effects import requires_review
from marketplace.credit.models import CreditRole
from marketplace.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.models import Category, Listing, ListingStatus, Membership, Role, User
from marketplace.selectors import listing_detail
from marketplace.services.accounts import user_act_as
from marketplace.services.listings import PublicationBlocked, listing_can_manage, listing_publish
from marketplace.services.notifications import moderators, notify
from marketplace.services.photos import clean_image
from marketplace.signals import listing_changed

# Categories a seller may grade themselves; the rest need a certified appraiser.
SELF_ASSESSABLE = frozenset({Category.BOOKS, Category.FURNITURE})


# --- rule sets ---------------------------------------------------------------------------


def _invalid(exc: RuleSetInvalid) -> ValidationFailed:
    return ValidationFailed(_("The rule set is not valid."), details={"problems": exc.problems})


@transaction.atomic
def ruleset_load_shipped(*, publish: bool = True) -> list[RuleSetVersion]:
    """Load grading/rulesets/*.yaml: new versions are created (published unless told
    otherwise); a published version whose file changed without a new version is an error."""
    loaded = []
    for document in shipped_documents():
        digest = document_hash(document)
        existing = RuleSetVersion.objects.filter(key=document["key"], version=document["version"]).first()
        if existing is not None:
            if existing.content_hash != digest and existing.status != RuleSetStatus.DRAFT:
                raise Conflict(
                    _("Rule set %(key)s %(version)s changed without a new version number.")
                    % {"key": document["key"], "version": document["version"]},
                    code="ruleset_changed_in_place",
                )
            loaded.append(existing)
            continue
        now = timezone.now()
        loaded.append(
            RuleSetVersion.objects.create(
                key=document["key"],
                version=document["version"],
                category=document["category"],
                device_types=document.get("device_types", []),
                document=document,
                content_hash=digest,
                status=RuleSetStatus.PUBLISHED if publish else RuleSetStatus.DRAFT,
                published_at=now if publish else None,
            )
        )
    return loaded


def _require_staff(user: User) -> None:
    if not (user.is_authenticated and user.is_staff):
        raise PermissionDenied(_("Only staff can change rule sets."))


@transaction.atomic
def ruleset_draft_save(*, staff: User, document: Mapping[str, Any], version_id: int | None = None) -> RuleSetVersion:
    """Create or edit a draft version. Published versions cannot be edited."""
    _require_staff(staff)
    try:
        validate_rule_set(document)
    except RuleSetInvalid as exc:
        raise _invalid(exc) from exc
    fields = {
        "key": document["key"],
        "version": document["version"],
        "category": document["category"],
        "device_types": document.get("device_types", []),
        "document": dict(document),
        "content_hash": document_hash(document),
    }
    if version_id is None:
        try:
            with transaction.atomic():
                return RuleSetVersion.objects.create(**fields)
        except IntegrityError as exc:
            raise Conflict(_("That version number is already taken."), code="ruleset_version_taken") from exc
    version = RuleSetVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None:
        raise NotFound(_("No such rule-set version."))
    if version.status != RuleSetStatus.DRAFT:
        raise Conflict(
            _("A published rule-set version cannot be changed; draft a new version."), code="ruleset_immutable"
        )
    for name, field_value in fields.items():
        setattr(version, name, field_value)
    try:
        with transaction.atomic():
            version.save()
    except IntegrityError as exc:
        raise Conflict(_("That version number is already taken."), code="ruleset_version_taken") from exc
    return version


@transaction.atomic
def ruleset_publish(*, staff: User, version_id: int) -> RuleSetVersion:
    _require_staff(staff)
    version = RuleSetVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None:
        raise NotFound(_("No such rule-set version."))
    if version.status != RuleSetStatus.DRAFT:
        raise Conflict(_("Only a draft can be published."), code="ruleset_not_draft")
    try:
        validate_rule_set(version.document)
    except RuleSetInvalid as exc:
        raise _invalid(exc) from exc
    version.status = RuleSetStatus.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = staff
    version.content_hash = document_hash(version.document)
    version.save()
    return version


def ruleset_active(*, category: str, device_type: str = "") -> RuleSetVersion | None:
    """The newest published version for this category (and device type)."""
    candidates = RuleSetVersion.objects.filter(category=category, status=RuleSetStatus.PUBLISHED).order_by(
        "-published_at", "-pk"
    )
    for version in candidates:
        if not version.device_types or device_type in version.device_types:
            return version
    return None


def listing_facts(listing: Listing) -> dict[str, Any]:
    """What rules may know about the item itself (not answers of the grader)."""
    attributes = listing.attributes
    facts: dict[str, Any] = {"category": listing.category}
    if listing.category == Category.FURNITURE and attributes is not None:
        facts |= {
            "clothing_storage": attributes.clothing_storage,  # type: ignore[attr-defined]
            "height_cm": attributes.height_cm,  # type: ignore[attr-defined]
            "upholstered": attributes.upholstered,  # type: ignore[attr-defined]
        }
    elif listing.category == Category.BOOKS and attributes is not None:
        facts |= {
            "is_textbook": attributes.is_textbook,  # type: ignore[attr-defined]
            "has_access_code": attributes.has_access_code,  # type: ignore[attr-defined]
        }
    elif listing.category == Category.ELECTRONICS and attributes is not None:
        facts |= {"device_type": attributes.device_type}  # type: ignore[attr-defined]
    return facts


def listing_device_type(listing: Listing) -> str:
    attributes = listing.attributes
    return str(getattr(attributes, "device_type", "")) if attributes is not None else ""


def ruleset_for_listing(listing: Listing) -> RuleSetVersion:
    version = ruleset_active(category=listing.category, device_type=listing_device_type(listing))
    if version is None:
        raise NotFound(_("No grading standard is published for this kind of item yet."))
    return version


def parsed(version: RuleSetVersion) -> RuleSet:
    return parse_rule_set(version.document)


# --- appraisals ------------------------------------------------------------------------------


def appraisal_digest(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps(json.loads(json.dumps(fields, default=str)))).hexdigest()


def _evaluate_or_fail(rule_set: RuleSet, answers: Mapping[str, Any], facts: Mapping[str, Any]) -> Any:
    try:
        return evaluate(rule_set, answers, facts)
    except AnswerError as exc:
        raise ValidationFailed(
            _("Some answers do not fit the grading standard."),
            details={
                "answers": {key: {"code": code, "message": message} for key, (code, message) in exc.errors.items()}
            },
        ) from exc


def _sign(
    *,
    listing: Listing,
    kind: str,
    appraiser: User,
    version: RuleSetVersion,
    answers: Mapping[str, Any],
    credential: AppraiserCredential | None = None,
    held: bool = False,
) -> Appraisal:
    """Sign an appraisal. A `held` one waits for staff review: it does not replace the
    listing's current grade until approved (`appraisal_review`)."""
    facts = listing_facts(listing)
    result = _evaluate_or_fail(parsed(version), answers, facts)
    signed_at = timezone.now()
    fields = {
        "listing_id": listing.pk,
        "kind": kind,
        "appraiser_id": appraiser.pk,
        "credential_id": credential.pk if credential else None,
        "organisation_id": credential.organisation_id if credential else None,
        "rule_set_id": version.pk,
        "rule_set_key": version.key,
        "rule_set_version": version.version,
        "rule_set_hash": version.content_hash,
        "answers": dict(answers),
        "facts": facts,
        "result": result.as_dict(),
        "grade": result.grade or "",
        "sellable": result.sellable,
        "score": result.score,
        "signed_at": signed_at.isoformat(),
    }
    digest = appraisal_digest(fields)
    previous = None if held else _supersede_current(listing, signed_at)
    appraisal = Appraisal.objects.create(
        listing=listing,
        kind=kind,
        appraiser=appraiser,
        credential=credential,
        organisation_id=fields["organisation_id"],
        rule_set=version,
        rule_set_key=version.key,
        rule_set_version=version.version,
        rule_set_hash=version.content_hash,
        answers=fields["answers"],
        facts=facts,
        result=fields["result"],
        grade=fields["grade"],
        sellable=result.sellable,
        score=result.score,
        signed_at=signed_at,
        digest=digest,
        review_status=AppraisalReview.PENDING if held else AppraisalReview.NOT_REQUIRED,
    )
    if previous is not None:
        Appraisal.objects.filter(pk=previous.pk).update(superseded_by=appraisal)
    if not held:
        _announce(listing.pk)
    return appraisal


def _supersede_current(listing: Listing, at: dt.datetime) -> Appraisal | None:
    """Step the current appraisal out of the "one current appraisal per listing" index
    before a new one goes in; the caller links it to its successor."""
    previous = _current_for_update(listing)
    if previous is not None:
        Appraisal.objects.filter(pk=previous.pk).update(superseded_at=at)
    return previous


def _current_for_update(listing: Listing) -> Appraisal | None:
    return (
        Appraisal.objects.select_for_update()
        .filter(listing=listing, superseded_at__isnull=True, review_status__in=COUNTED_REVIEW)
        .first()
    )


def _announce(listing_id: int) -> None:
    transaction.on_commit(lambda: listing_changed.send(sender=Listing, listing_id=listing_id))


def appraisal_fields(appraisal: Appraisal) -> dict[str, Any]:
    return {
        "listing_id": appraisal.listing_id,
        "kind": appraisal.kind,
        "appraiser_id": appraisal.appraiser_id,
        "credential_id": appraisal.credential_id,
        "organisation_id": appraisal.organisation_id,
        "rule_set_id": appraisal.rule_set_id,
        "rule_set_key": appraisal.rule_set_key,
        "rule_set_version": appraisal.rule_set_version,
        "rule_set_hash": appraisal.rule_set_hash,
        "answers": appraisal.answers,
        "facts": appraisal.facts,
        "result": appraisal.result,
        "grade": appraisal.grade,
        "sellable": appraisal.sellable,
        "score": appraisal.score,
        "signed_at": appraisal.signed_at.isoformat(),
    }


def appraisal_digest_valid(appraisal: Appraisal) -> bool:
    """True when the stored record still matches the digest taken when it was signed."""
    return appraisal_digest(appraisal_fields(appraisal)) == appraisal.digest


def _listing_for_grading(listing_id: int) -> Listing:
    listing = Listing.objects.select_for_update(of=("self",)).filter(pk=listing_id).first()
    if listing is None:
        raise NotFound(_("No such listing."))
    loaded = listing_detail(listing_id=listing_id)
    assert loaded is not None  # noqa: S101 - just locked it
    return loaded


GRADABLE_STATUSES = frozenset(
    {
        ListingStatus.DRAFT,
        ListingStatus.PENDING_APPRAISAL,
        ListingStatus.PENDING_ERASURE,
        ListingStatus.READY,
        ListingStatus.PUBLISHED,
        ListingStatus.WITHDRAWN,
        ListingStatus.EXPIRED,
    }
)


@transaction.atomic
def self_assessment_submit(*, actor: User, listing_id: int, answers: Mapping[str, Any]) -> Appraisal:
    """A seller grades their own book or furniture against the live rule set."""
    listing = _listing_for_grading(listing_id)
    if not listing_can_manage(user=actor, listing=listing):
        raise NotFound(_("No such listing."))
    if listing.category not in SELF_ASSESSABLE:
        raise PermissionDenied(
            _("Electronics and vehicles need a certified appraisal; request one instead."), code="certified_required"
        )
    if listing.status not in GRADABLE_STATUSES:
        raise Conflict(_("This listing cannot be graded in its current state."), code="listing_not_gradable")
    return _sign(
        listing=listing, kind=AppraisalKind.SELF, appraiser=actor, version=ruleset_for_listing(listing), answers=answers
    )


def appraisal_request_active(*, listing_id: int) -> bool:
    """Whether the listing is in the appraisers' queue (open or claimed)."""
    return AppraisalRequest.objects.filter(
        listing_id=listing_id, status__in=[AppraisalRequestStatus.OPEN, AppraisalRequestStatus.CLAIMED]
    ).exists()


@transaction.atomic
def appraisal_request_create(*, actor: User | None, listing_id: int) -> AppraisalRequest:
    """Put a listing in the appraisers' queue (idempotent while a request is active)."""
    listing = _listing_for_grading(listing_id)
    if actor is not None and not listing_can_manage(user=actor, listing=listing):
        raise NotFound(_("No such listing."))
    active = AppraisalRequest.objects.filter(
        listing=listing, status__in=[AppraisalRequestStatus.OPEN, AppraisalRequestStatus.CLAIMED]
    ).first()
    if active is not None:
        return active
    requester = actor or listing.seller_user or listing.created_by
    assert requester is not None  # noqa: S101 - every listing has a creator
    return AppraisalRequest.objects.create(listing=listing, category=listing.category, requested_by=requester)


def usable_credentials(*, user: User, category: str | None = None) -> list[AppraiserCredential]:
    today = timezone.localdate()
    credentials = AppraiserCredential.objects.filter(
        user=user, verified_at__isnull=False, revoked_at__isnull=True, valid_from__lte=today, valid_to__gte=today
    ).order_by("pk")
    return [c for c in credentials if category is None or category in c.categories]


def conflict_of_interest(*, appraiser: User, listing: Listing) -> str | None:
    """Why `appraiser` may not grade `listing`, or None."""
    if listing.seller_user_id == appraiser.pk or listing.created_by_id == appraiser.pk:
        return _("You cannot grade an item you sell.")
    if listing.consignor_id == appraiser.pk:
        return _("You cannot grade an item you consigned.")
    if (
        listing.seller_organisation_id
        and Membership.objects.filter(user=appraiser, organisation_id=listing.seller_organisation_id).exists()
    ):
        return _("You cannot grade your own organisation's items.")
    return None


def _appraiser_credential(*, appraiser: User, category: str) -> AppraiserCredential:
    user_act_as(user=appraiser, role=Role.APPRAISER)  # raises without the role or without 2FA
    credentials = usable_credentials(user=appraiser, category=category)
    if not credentials:
        raise PermissionDenied(
            _("You have no verified, unexpired credential for %(category)s.") % {"category": Category(category).label},
            code="credential_required",
        )
    return credentials[0]


def appraisal_queue(*, appraiser: User) -> list[AppraisalRequest]:
    """Open requests in the categories the appraiser is credentialed for, minus conflicts."""
    user_act_as(user=appraiser, role=Role.APPRAISER)
    categories = {category for c in usable_credentials(user=appraiser) for category in c.categories}
    requests = (
        AppraisalRequest.objects.filter(status=AppraisalRequestStatus.OPEN, category__in=categories)
        .select_related("listing", "listing__seller_user", "listing__seller_organisation", "listing__electronics")
        .order_by("created_at", "pk")
    )
    own_orgs = set(Membership.objects.filter(user=appraiser).values_list("organisation_id", flat=True))
    return [
        r
        for r in requests
        if r.listing.seller_user_id != appraiser.pk
        and r.listing.consignor_id != appraiser.pk
        and r.listing.seller_organisation_id not in own_orgs
    ]


def appraisal_claim(*, appraiser: User, listing_id: int) -> AppraisalRequest:
    """Claim a queued listing. A conditional update: of two appraisers racing, one wins
    and the other gets a clear conflict."""
    with transaction.atomic():
        request = (
            AppraisalRequest.objects.filter(
                listing_id=listing_id, status__in=[AppraisalRequestStatus.OPEN, AppraisalRequestStatus.CLAIMED]
            )
            .select_related("listing")
            .first()
        )
        if request is None:
            raise NotFound(_("This listing is not waiting for an appraisal."))
        _appraiser_credential(appraiser=appraiser, category=request.category)
        reason = conflict_of_interest(appraiser=appraiser, listing=request.listing)
        if reason:
            raise PermissionDenied(reason, code="conflict_of_interest")
        if request.status == AppraisalRequestStatus.CLAIMED and request.claimed_by_id == appraiser.pk:
            return request
        won = AppraisalRequest.objects.filter(pk=request.pk, status=AppraisalRequestStatus.OPEN).update(
            status=AppraisalRequestStatus.CLAIMED, claimed_by=appraiser, claimed_at=timezone.now()
        )
    if not won:
        raise Conflict(_("Another appraiser has already claimed this item."), code="already_claimed")
    request.refresh_from_db()
    return request


@transaction.atomic
def appraisal_release(*, appraiser: User, listing_id: int) -> None:
    released = AppraisalRequest.objects.filter(
        listing_id=listing_id, status=AppraisalRequestStatus.CLAIMED, claimed_by=appraiser
    ).update(status=AppraisalRequestStatus.OPEN, claimed_by=None, claimed_at=None)
    if not released:
        raise NotFound(_("You have not claimed this item."))


@transaction.atomic
def appraisal_submit(
    *,
    appraiser: User,
    listing_id: int,
    answers: Mapping[str, Any],
    evidence: Sequence[tuple[Mapping[str, str], IO[bytes], int, str]] = (),
) -> Appraisal:
    """Sign a certified appraisal for a listing the appraiser has claimed. Evidence is a
    sequence of ({"item", "position", "defect"}, file, size, name)."""
    request = (
        AppraisalRequest.objects.select_for_update()
        .filter(listing_id=listing_id, status=AppraisalRequestStatus.CLAIMED)
        .first()
    )
    if request is None or request.claimed_by_id != appraiser.pk:
        raise PermissionDenied(_("Claim the item from the queue before grading it."), code="not_claimed")
    listing = _listing_for_grading(listing_id)
    credential = _appraiser_credential(appraiser=appraiser, category=listing.category)
    reason = conflict_of_interest(appraiser=appraiser, listing=listing)
    if reason:
        raise PermissionDenied(reason, code="conflict_of_interest")
    cleaned_evidence = [(meta, *clean_image(file, size=size, name=name)) for meta, file, size, name in evidence]
    # The credit policy table may send a low-tier appraiser's grades to staff first.
    held = requires_review(appraiser.pk, CreditRole.APPRAISER)
    appraisal = _sign(
        listing=listing,
        kind=AppraisalKind.CERTIFIED,
        appraiser=appraiser,
        version=ruleset_for_listing(listing),
        answers=answers,
        credential=credential,
        held=held,
    )
    for meta, data, _width, _height in cleaned_evidence:
        digest = hashlib.sha256(data).hexdigest()
        item = AppraisalEvidence(
            appraisal=appraisal,
            item=meta.get("item", ""),
            position=meta.get("position", ""),
            defect=meta.get("defect", ""),
            sha256=digest,
        )
        item.photo.save(f"{appraisal.pk}-{digest[:16]}.jpg", ContentFile(data), save=False)
        item.save()
    request.status = AppraisalRequestStatus.COMPLETED
    request.completed_at = timezone.now()
    request.save(update_fields=["status", "completed_at"])
    if held:
        _tell_review_pending(appraisal, listing)
        return appraisal
    _grade_counts(appraisal, listing)
    return appraisal


def _seller_of(listing: Listing) -> list[User]:
    return [u for u in (listing.seller_user, listing.created_by) if u is not None][:1]


def _grade_counts(appraisal: Appraisal, listing: Listing) -> None:
    """A certified grade now counts: publication goes on and the seller hears of it."""
    if appraisal.sellable:
        _continue_publication(listing)
    notify(
        users=_seller_of(listing),
        kind="appraisal_signed",
        subject=gettext_lazy("Your item “%(title)s” was graded %(grade)s"),
        body=gettext_lazy(
            "A certified appraiser graded “%(title)s”: %(grade)s. See the full report on the listing page."
        ),
        params={"title": listing.title, "grade": appraisal.grade or _("not sellable")},
        link=f"/my/listings/{listing.pk}/",
    )


def _tell_review_pending(appraisal: Appraisal, listing: Listing) -> None:
    notify(
        users=moderators(),
        kind="appraisal_review",
        subject=gettext_lazy("Appraisal to review: %(title)s"),
        body=gettext_lazy(
            "%(appraiser)s graded “%(title)s” %(grade)s. Their appraiser credit tier requires staff review before "
            "the grade counts; approve or reject it."
        ),
        params={
            "appraiser": appraisal.appraiser.public_name,
            "title": listing.title,
            "grade": appraisal.grade or _("not sellable"),
        },
        link=f"/cms-admin/appraisal-reviews/inspect/{appraisal.pk}/",
    )
    notify(
        users=_seller_of(listing),
        kind="appraisal_review",
        subject=gettext_lazy("The appraisal of “%(title)s” waits for staff review"),
        body=gettext_lazy(
            "A certified appraiser graded “%(title)s”. Staff check this appraiser's grades before they count; "
            "you will hear from us when the grade is approved."
        ),
        params={"title": listing.title},
        link=f"/my/listings/{listing.pk}/",
    )


@transaction.atomic
def appraisal_review(*, staff: User, appraisal_id: int, approve: bool, note: str) -> Appraisal:
    """Staff decide a held appraisal. Approved, it becomes the listing's grade (replacing
    the current one, unless a newer grade already counts) and publication goes on;
    rejected, it never counts, the appraiser is told why and the item goes back to the
    appraisal queue if it is waiting for a grade."""
    _require_moderator(staff)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(
            _("Write down why you approve or reject it."), details={"fields": {"note": [_("Required.")]}}
        )
    found = Appraisal.objects.filter(pk=appraisal_id).values_list("listing_id", flat=True).first()
    if found is None:
        raise NotFound(_("No such appraisal."))
    listing = _listing_for_grading(found)  # the listing row serialises decisions and new grades
    appraisal = Appraisal.objects.select_for_update().select_related("appraiser").get(pk=appraisal_id)
    if appraisal.review_status != AppraisalReview.PENDING:
        raise Conflict(_("This appraisal is not waiting for review."), code="appraisal_not_in_review")
    now = timezone.now()
    if approve:
        current = _current_for_update(listing)
        if current is not None and current.signed_at > appraisal.signed_at:
            raise Conflict(
                _("A newer grade already counts for this item; reject this appraisal instead."),
                code="appraisal_outdated",
            )
        previous = _supersede_current(listing, now)
        Appraisal.objects.filter(pk=appraisal.pk).update(
            review_status=AppraisalReview.APPROVED, reviewed_by=staff, reviewed_at=now, review_note=note
        )
        if previous is not None:
            Appraisal.objects.filter(pk=previous.pk).update(superseded_by=appraisal)
        appraisal.refresh_from_db()
        _announce(listing.pk)
        _grade_counts(appraisal, listing)
        return appraisal
    Appraisal.objects.filter(pk=appraisal.pk).update(
        review_status=AppraisalReview.REJECTED, reviewed_by=staff, reviewed_at=now, review_note=note
    )
    appraisal.refresh_from_db()
    notify(
        users=[appraisal.appraiser],
        kind="appraisal_rejected",
        subject=gettext_lazy("Your appraisal of “%(title)s” was rejected"),
        body=gettext_lazy("Staff rejected your appraisal of “%(title)s”; it does not count: %(note)s"),
        params={"title": listing.title, "note": note},
        link=f"/listings/{listing.pk}/",
    )
    if listing.status == ListingStatus.PENDING_APPRAISAL and listing.category not in SELF_ASSESSABLE:
        appraisal_request_create(actor=None, listing_id=listing.pk)
    return appraisal


def _continue_publication(listing: Listing) -> None:
    """A listing waits in pending_appraisal because its seller asked to publish it; once a
    sellable grade is signed, the publication goes on for them — live, or on to the next
    stage that still blocks (the seller's page says what and why)."""
    if listing.status != ListingStatus.PENDING_APPRAISAL:
        return
    seller = listing.seller_user or listing.created_by
    if seller is None or not listing_can_manage(user=seller, listing=listing):
        return
    try:
        listing_publish(actor=seller, listing_id=listing.pk)
    except PublicationBlocked:
        return


def appraisal_claimed(*, appraiser: User, listing_id: int) -> AppraisalRequest:
    """The claim `appraiser` holds on a listing, for the grading page; raises MFARequired
    without two-factor authentication, PermissionDenied when someone else (or nobody)
    claimed it, NotFound when it is not waiting for an appraisal."""
    user_act_as(user=appraiser, role=Role.APPRAISER)
    request = (
        AppraisalRequest.objects.filter(
            listing_id=listing_id, status__in=[AppraisalRequestStatus.OPEN, AppraisalRequestStatus.CLAIMED]
        )
        .select_related("listing")
        .first()
    )
    if request is None:
        raise NotFound(_("This listing is not waiting for an appraisal."))
    if request.status != AppraisalRequestStatus.CLAIMED or request.claimed_by_id != appraiser.pk:
        raise PermissionDenied(_("Claim the item from the queue before grading it."), code="not_claimed")
    return request


def appraisal_requests_claimed_by(*, appraiser: User) -> list[AppraisalRequest]:
    """The items an appraiser claimed and has not signed yet, oldest claim first."""
    return list(
        AppraisalRequest.objects.filter(status=AppraisalRequestStatus.CLAIMED, claimed_by=appraiser)
        .select_related("listing", "listing__seller_user", "listing__seller_organisation", "listing__electronics")
        .order_by("claimed_at", "pk")
    )


def current_appraisals(listing_ids: Sequence[int]) -> dict[int, Appraisal]:
    """The grade that counts for each listing (appraisals waiting for staff review do not)."""
    appraisals = Appraisal.objects.filter(
        listing_id__in=listing_ids, superseded_at__isnull=True, review_status__in=COUNTED_REVIEW
    ).select_related("rule_set", "appraiser", "organisation")
    return {a.listing_id: a for a in appraisals}


def appraisals_in_review(listing_ids: Sequence[int]) -> dict[int, Appraisal]:
    """The newest appraisal of each listing that waits for staff review, if any."""
    appraisals = (
        Appraisal.objects.filter(listing_id__in=listing_ids, review_status=AppraisalReview.PENDING)
        .select_related("appraiser")
        .order_by("listing_id", "-signed_at", "-pk")
    )
    found: dict[int, Appraisal] = {}
    for appraisal in appraisals:
        found.setdefault(appraisal.listing_id, appraisal)
    return found


# --- valuation ------------------------------------------------------------------------------

DEFAULT_VALUATION = {
    Category.ELECTRONICS: ValuationParams(
        annual_depreciation_percent=25, grade_multipliers={"S": 110, "A": 100, "B": 90, "C": 80, "D": 40}
    ),
    Category.FURNITURE: ValuationParams(
        annual_depreciation_percent=15,
        grade_multipliers={"as_new": 110, "very_good": 100, "well_used": 75},
    ),
    Category.BOOKS: ValuationParams(
        annual_depreciation_percent=10,
        floor_percent=15,
        grade_multipliers={"as_new": 100, "fine": 95, "very_good": 85, "good": 70, "fair": 50, "poor": 30},
    ),
    Category.VEHICLES: ValuationParams(
        annual_depreciation_percent=0,
        floor_percent=5,
        useful_life_years=15,
        band_percent=10,
        grade_multipliers={"一级": 105, "二级": 100, "三级": 85, "四级": 65, "五级": 40},
    ),
}


def valuation_params(*, category: str, device_type: str = "") -> ValuationParams:
    rows = {(p.device_type or ""): p for p in ValuationParameters.objects.filter(category=category)}
    row = rows.get(device_type) or rows.get("")
    if row is None:
        return DEFAULT_VALUATION[Category(category)]
    return ValuationParams(
        annual_depreciation_percent=row.annual_depreciation_percent,
        floor_percent=row.floor_percent,
        useful_life_years=row.useful_life_years,
        band_percent=row.band_percent,
        grade_multipliers=row.grade_multipliers or DEFAULT_VALUATION[Category(category)].grade_multipliers,
    )


def comparable_sales(listing: Listing, *, days: int = 180) -> list[int]:
    """Prices of sold listings of the same thing (same model, ISBN or furniture type)."""
    attributes = listing.attributes
    since = timezone.now() - dt.timedelta(days=days)
    sold = Listing.objects.filter(category=listing.category, status=ListingStatus.SOLD, status_changed_at__gte=since)
    match: Q
    if listing.category == Category.BOOKS:
        match = Q(book__isbn=getattr(attributes, "isbn", ""))
    elif listing.category == Category.ELECTRONICS:
        match = Q(
            electronics__brand__iexact=getattr(attributes, "brand", ""),
            electronics__model_name__iexact=getattr(attributes, "model_name", ""),
        )
    elif listing.category == Category.VEHICLES:
        match = Q(
            vehicle__make__iexact=getattr(attributes, "make", ""),
            vehicle__model_name__iexact=getattr(attributes, "model_name", ""),
        )
    else:
        match = Q(furniture__furniture_type=getattr(attributes, "furniture_type", ""))
    return list(sold.filter(match).exclude(pk=listing.pk).values_list("price", flat=True)[:200])


def listing_age_years(listing: Listing) -> Decimal | None:
    attributes = listing.attributes
    if listing.category == Category.VEHICLES and attributes is not None:
        start = attributes.first_registration  # type: ignore[attr-defined]
    elif listing.purchased_on is not None:
        start = listing.purchased_on
    elif listing.category == Category.BOOKS and getattr(attributes, "year", None):
        start = dt.date(attributes.year, 7, 1)  # type: ignore[union-attr]
    else:
        return None
    return (Decimal((timezone.localdate() - start).days) / Decimal("365.25")).quantize(Decimal("0.01"))


_UNKNOWN: Any = object()


def listing_valuation(*, listing: Listing, current: Appraisal | None = _UNKNOWN) -> Valuation | None:
    """The fair price band for a listing, or None when there is too little to go on.
    `current`: the listing's current appraisal (or None) when the caller already read it."""
    if current is _UNKNOWN:
        current = current_appraisals([listing.pk]).get(listing.pk)
    params = valuation_params(category=listing.category, device_type=listing_device_type(listing))
    try:
        return value(
            ValuationInput(
                category=listing.category,
                params=params,
                reference_new_price=listing.reference_new_price,
                age_years=listing_age_years(listing),
                comparable_prices=comparable_sales(listing),
                grade=current.grade if current else None,
            )
        )
    except ValuationUnavailable:
        return None


@transaction.atomic
def price_check(*, listing_id: int) -> PriceFlag | None:
    """Flag a published listing whose asking price is outside its fair band (once per price)."""
    listing = listing_detail(listing_id=listing_id)
    if listing is None or listing.status != ListingStatus.PUBLISHED:
        return None
    band = listing_valuation(listing=listing)
    if band is None or band.position_of(listing.price) == "within":
        return None
    flag, created = PriceFlag.objects.get_or_create(
        listing=listing,
        price=listing.price,
        defaults={"band_low": band.low, "band_high": band.high, "position": band.position_of(listing.price)},
    )
    if created:
        notify(
            users=moderators(),
            kind="price_flag",
            subject=gettext_lazy("Asking price outside the fair band: %(title)s"),
            body=gettext_lazy("“%(title)s” asks ¥%(price)s; the fair band is ¥%(low)s–¥%(high)s."),
            params={
                "title": listing.title,
                "price": f"{listing.price / 100:,.2f}",
                "low": f"{band.low / 100:,.2f}",
                "high": f"{band.high / 100:,.2f}",
            },
            link=f"/listings/{listing.pk}/",
        )
    return flag


# --- staff: acceptability of old versions, credentials, price flags ----------------------------


def _require_moderator(user: User) -> None:
    if not (user.is_authenticated and user.is_active and user.is_staff):
        raise PermissionDenied(_("Only staff can do this."))


@transaction.atomic
def ruleset_set_acceptable(*, staff: User, version_id: int, acceptable: bool) -> RuleSetVersion:
    """Say whether grades made under a published version still let listings publish once a
    newer version exists. The one thing that may change after publication: a queryset
    update, because the model's save() refuses any change to a published version."""
    _require_staff(staff)
    version = RuleSetVersion.objects.select_for_update().filter(pk=version_id).first()
    if version is None:
        raise NotFound(_("No such rule-set version."))
    if version.status == RuleSetStatus.DRAFT:
        raise Conflict(_("Only a published version can be marked acceptable or not."), code="ruleset_not_published")
    RuleSetVersion.objects.filter(pk=version.pk).update(acceptable=acceptable)
    version.refresh_from_db()
    return version


CREDENTIAL_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
# What a credential document may be, told by its first bytes (never by its name alone).
CREDENTIAL_DOCUMENT_TYPES = ((b"%PDF-", ".pdf"), (b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png"))


def _credential_document(document: tuple[IO[bytes], int, str] | None) -> tuple[bytes, str]:
    if document is None:
        raise ValidationFailed(
            _("The credential could not be submitted."),
            details={"fields": {"document": [_("Attach a scan or photo of the credential.")]}},
        )
    upload, size, _name = document
    if size > CREDENTIAL_DOCUMENT_MAX_BYTES:
        raise ValidationFailed(
            _("The credential could not be submitted."),
            details={
                "fields": {
                    "document": [
                        _("The document is larger than %(limit)d MB.")
                        % {"limit": CREDENTIAL_DOCUMENT_MAX_BYTES // (1024 * 1024)}
                    ]
                }
            },
        )
    data = upload.read(CREDENTIAL_DOCUMENT_MAX_BYTES + 1)
    extension = next((ext for magic, ext in CREDENTIAL_DOCUMENT_TYPES if data.startswith(magic)), None)
    if extension is None or len(data) > CREDENTIAL_DOCUMENT_MAX_BYTES:
        raise ValidationFailed(
            _("The credential could not be submitted."),
            details={"fields": {"document": [_("Upload the document as a PDF, JPEG or PNG file.")]}},
        )
    return data, extension


@transaction.atomic
def credential_submit(
    *,
    user: User,
    issuer: str,
    number: str,
    categories: Sequence[str],
    valid_from: dt.date,
    valid_to: dt.date,
    document: tuple[IO[bytes], int, str] | None,
) -> AppraiserCredential:
    """An appraiser submits a credential with its document. It stays unusable until staff
    have checked the document and verified it; staff are told it is waiting."""
    if not user.is_authenticated:
        raise PermissionDenied(_("Log in to submit a credential."))
    fields: dict[str, list[str]] = {}
    issuer, number = issuer.strip(), number.strip()
    if not issuer:
        fields["issuer"] = [_("Name the issuer.")]
    if not number:
        fields["number"] = [_("Give the credential number.")]
    chosen = sorted(set(categories))
    if not chosen or any(category not in Category.values for category in chosen):
        fields["categories"] = [_("Choose at least one category.")]
    if valid_to < valid_from:
        fields["valid_to"] = [_("The end of validity cannot come before its start.")]
    elif valid_to < timezone.localdate():
        fields["valid_to"] = [_("This credential has already expired.")]
    if fields:
        raise ValidationFailed(_("The credential could not be submitted."), details={"fields": fields})
    data, extension = _credential_document(document)
    if AppraiserCredential.objects.filter(issuer=issuer, number=number).exists():
        raise ValidationFailed(
            _("The credential could not be submitted."),
            details={"fields": {"number": [_("This issuer's credential number is already registered.")]}},
        )
    membership = (
        Membership.objects.filter(user=user, role=Role.APPRAISER).select_related("organisation").order_by("pk").first()
    )
    credential = AppraiserCredential(
        user=user,
        issuer=issuer,
        number=number,
        categories=chosen,
        valid_from=valid_from,
        valid_to=valid_to,
        organisation=membership.organisation if membership else None,
    )
    digest = hashlib.sha256(data).hexdigest()
    credential.document.save(f"{digest[:24]}{extension}", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            credential.save()
    except IntegrityError as exc:
        credential.document.delete(save=False)
        raise ValidationFailed(
            _("The credential could not be submitted."),
            details={"fields": {"number": [_("This issuer's credential number is already registered.")]}},
        ) from exc
    notify(
        users=moderators(),
        kind="credential_submitted",
        subject=gettext_lazy("An appraiser credential waits for verification: %(number)s"),
        body=gettext_lazy(
            "%(name)s submitted the credential %(issuer)s %(number)s for %(categories)s. Check the document and "
            "verify or revoke it."
        ),
        params={
            "name": user.public_name,
            "issuer": issuer,
            "number": number,
            "categories": ", ".join(chosen),
        },
        link=f"/cms-admin/appraiser-credentials/inspect/{credential.pk}/",
    )
    return credential


@transaction.atomic
def credential_verify(*, staff: User, credential_id: int) -> AppraiserCredential:
    """Staff checked the credential document: the appraiser may now grade in its categories."""
    _require_moderator(staff)
    credential = AppraiserCredential.objects.select_for_update().select_related("user").filter(pk=credential_id).first()
    if credential is None:
        raise NotFound(_("No such credential."))
    if credential.revoked_at is not None:
        raise Conflict(
            _("A revoked credential cannot be verified again; the appraiser must submit it anew."),
            code="credential_revoked",
        )
    if credential.verified_at is not None:
        return credential
    credential.verified_at = timezone.now()
    credential.verified_by = staff
    credential.save(update_fields=["verified_at", "verified_by"])
    notify(
        users=[credential.user],
        kind="credential_verified",
        subject=gettext_lazy("Your appraiser credential %(number)s was verified"),
        body=gettext_lazy(
            "Staff verified your credential %(issuer)s %(number)s. You can now claim items from the "
            "appraisal queue in its categories until %(valid_to)s."
        ),
        params={"issuer": credential.issuer, "number": credential.number, "valid_to": credential.valid_to},
    )
    return credential


@transaction.atomic
def credential_revoke(*, staff: User, credential_id: int) -> AppraiserCredential:
    """Withdraw a credential. Items the appraiser claimed in categories no other usable
    credential of theirs covers go back to the queue, so they are not stuck."""
    _require_moderator(staff)
    credential = AppraiserCredential.objects.select_for_update().select_related("user").filter(pk=credential_id).first()
    if credential is None:
        raise NotFound(_("No such credential."))
    if credential.revoked_at is not None:
        return credential
    credential.revoked_at = timezone.now()
    credential.save(update_fields=["revoked_at"])
    still_covered = {category for c in usable_credentials(user=credential.user) for category in c.categories}
    AppraisalRequest.objects.filter(status=AppraisalRequestStatus.CLAIMED, claimed_by=credential.user).exclude(
        category__in=still_covered
    ).update(status=AppraisalRequestStatus.OPEN, claimed_by=None, claimed_at=None)
    notify(
        users=[credential.user],
        kind="credential_revoked",
        subject=gettext_lazy("Your appraiser credential %(number)s was revoked"),
        body=gettext_lazy(
            "Staff revoked your credential %(issuer)s %(number)s. You can no longer grade items with it; "
            "items you had claimed under it went back to the queue."
        ),
        params={"issuer": credential.issuer, "number": credential.number},
    )
    return credential


@transaction.atomic
def price_flag_review(*, moderator: User, flag_id: int) -> PriceFlag:
    """A moderator looked at a flagged asking price (flags never block anything)."""
    _require_moderator(moderator)
    flag = PriceFlag.objects.select_for_update().filter(pk=flag_id).first()
    if flag is None:
        raise NotFound(_("No such price flag."))
    if flag.reviewed_at is None:
        flag.reviewed_at = timezone.now()
        flag.reviewed_by = moderator
        flag.save(update_fields=["reviewed_at", "reviewed_by"])
    return flag
