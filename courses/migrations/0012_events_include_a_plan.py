"""An event includes a membership plan instead of naming a group and a number of months:
each event that gave a group is linked to a plan of that group and length (an existing plan
when there is one, else a new one that is not on sale), so attendees keep getting the same
access."""

import django.db.models.deletion
from django.db import migrations, models


def link_plans(apps, schema_editor):
    EventPage = apps.get_model("courses", "EventPage")
    MembershipPlan = apps.get_model("courses", "MembershipPlan")
    for event in EventPage.objects.filter(member_group__isnull=False):
        months = event.membership_months or 12
        plan = MembershipPlan.objects.filter(group_id=event.member_group_id, months=months).first()
        if plan is None:
            plan = MembershipPlan.objects.create(
                name=f"Included with events, {months} months",
                description="Created from an event's member-area access.",
                price=0,
                months=months,
                group_id=event.member_group_id,
                available=False,
            )
        EventPage.objects.filter(pk=event.pk).update(included_membership=plan)


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0011_membership_grace"),
    ]

    operations = [
        migrations.AddField(
            model_name="eventpage",
            name="included_membership",
            field=models.ForeignKey(
                blank=True,
                help_text=(
                    "Each confirmed attendee gets one period of this plan, added to their "
                    "membership (the Training of Trainers includes a year of the member site)."
                ),
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="including_events",
                to="courses.membershipplan",
                verbose_name="membership included",
            ),
        ),
        migrations.RunPython(link_plans, migrations.RunPython.noop),
        migrations.RemoveField(model_name="eventpage", name="member_group"),
        migrations.RemoveField(model_name="eventpage", name="membership_months"),
    ]
