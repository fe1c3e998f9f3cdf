"""Consent for consignment: an agreement is an invitation to an e-mail address that the
consignor accepts or declines. Existing agreements were made with a known account and
count as accepted (ended ones as ended); a shop that had listed items naming a consignor
without any agreement gets an accepted agreement at the flat share, so those listings
keep a valid basis."""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


def forwards(apps, schema_editor):
    Agreement = apps.get_model("consignment", "ConsignmentAgreement")
    ShareTier = apps.get_model("consignment", "ShareTier")
    Listing = apps.get_model("marketplace", "Listing")
    for agreement in Agreement.objects.select_related("consignor").order_by("pk"):
        agreement.invited_email = agreement.consignor.email
        agreement.status = "accepted" if agreement.is_active else "ended"
        agreement.status_changed_at = agreement.created_at
        agreement.save(update_fields=["invited_email", "status", "status_changed_at"])
    pairs = (
        Listing.objects.filter(consignor__isnull=False, seller_organisation__isnull=False)
        .values_list("seller_organisation_id", "consignor_id")
        .distinct()
        .order_by("seller_organisation_id", "consignor_id")
    )
    share_bp = int(getattr(settings, "MARKETPLACE_CONSIGNOR_SHARE_BP", 6000))
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    for shop_id, consignor_id in pairs:
        if Agreement.objects.filter(shop_id=shop_id, consignor_id=consignor_id).exists():
            continue
        agreement = Agreement.objects.create(
            shop_id=shop_id,
            consignor_id=consignor_id,
            invited_email=User.objects.get(pk=consignor_id).email,
            status="accepted",
            notes="Recorded when consignors' consent became required: the shop already listed items for them.",
        )
        agreement.status_changed_at = agreement.created_at
        agreement.save(update_fields=["status_changed_at"])
        ShareTier.objects.create(agreement=agreement, up_to=None, consignor_share_bp=share_bp)


def backwards(apps, schema_editor):
    Agreement = apps.get_model("consignment", "ConsignmentAgreement")
    # Invitations never answered had no consignor: they cannot go back.
    Agreement.objects.filter(consignor__isnull=True).delete()
    Agreement.objects.update(is_active=False)
    Agreement.objects.filter(status="accepted").update(is_active=True)


class Migration(migrations.Migration):
    dependencies = [
        ("consignment", "0001_initial"),
        ("marketplace", "0008_order_hold"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="consignmentagreement",
            name="consignment_one_active_agreement",
        ),
        migrations.AddField(
            model_name="consignmentagreement",
            name="invited_email",
            field=models.EmailField(default="", max_length=254, verbose_name="invited e-mail address"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="consignmentagreement",
            name="status",
            field=models.CharField(
                choices=[
                    ("invited", "Invited"),
                    ("accepted", "Accepted"),
                    ("declined", "Declined"),
                    ("ended", "Ended"),
                ],
                default="invited",
                editable=False,
                max_length=10,
                verbose_name="status",
            ),
        ),
        migrations.AddField(
            model_name="consignmentagreement",
            name="status_changed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="status changed at"),
        ),
        migrations.AddField(
            model_name="consignmentagreement",
            name="ended_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="consignmentagreement",
            name="end_reason",
            field=models.CharField(blank=True, editable=False, max_length=500, verbose_name="why it ended"),
        ),
        migrations.AlterField(
            model_name="consignmentagreement",
            name="consignor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="consignment_agreements",
                to=settings.AUTH_USER_MODEL,
                verbose_name="consignor",
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(
            model_name="consignmentagreement",
            name="is_active",
        ),
        migrations.AddConstraint(
            model_name="consignmentagreement",
            constraint=models.CheckConstraint(
                condition=models.Q(("status__in", ["invited", "accepted", "declined", "ended"])),
                name="consignment_agreement_status_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="consignmentagreement",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "accepted"), _negated=True), ("consignor__isnull", False), _connector="OR"
                ),
                name="consignment_accepted_has_consignor",
            ),
        ),
        migrations.AddConstraint(
            model_name="consignmentagreement",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "accepted")),
                fields=("shop", "consignor"),
                name="consignment_one_active_agreement",
            ),
        ),
        migrations.AddConstraint(
            model_name="consignmentagreement",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("invited_email"),
                models.F("shop"),
                condition=models.Q(("status", "invited")),
                name="consignment_one_open_invitation",
            ),
        ),
    ]
