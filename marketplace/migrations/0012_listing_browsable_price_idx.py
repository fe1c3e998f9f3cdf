from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0011_book_catalogue"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="listing",
            index=models.Index(
                condition=models.Q(("status__in", ("published", "reserved"))),
                fields=["price", "id"],
                name="listing_browsable_price_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="listing",
            index=models.Index(
                condition=models.Q(("status__in", ("published", "reserved"))),
                fields=["category", "price", "id"],
                name="listing_browse_cat_price_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="listing",
            index=models.Index(
                condition=models.Q(("status__in", ("published", "reserved"))),
                fields=["city", "price", "id"],
                name="listing_browse_city_price_idx",
            ),
        ),
    ]
