"""Reporting to CE Broker: each roster export is recorded as a batch of the rows it held."""

from django.db import transaction
from django.utils.translation import gettext as _

from cms import audit
from cms.locking import lock_one

from .. import rosters
from ..models import AccreditingBody, CEBrokerBatch, CEBrokerReportedRow
from .common import CEError


def export_ce_broker_roster(event, body, *, actor, include_reported=False):
    """Record a CE Broker batch for `event` under `body` and return (batch, .xls bytes).

    Refuses (CEError, nothing recorded) while the roster has a problem that stops the export,
    or when there is no row to report. By default the batch holds only the licensees no
    earlier batch reported; `include_reported` makes a correction file that repeats them.
    """
    with transaction.atomic():
        # One export per body at a time, so two staff cannot report the same rows twice.
        lock_one(AccreditingBody, body.pk)
        roster = rosters.ce_broker_roster(event, body, include_reported=include_reported)
        if roster.blocked:
            raise CEError(
                _("Nothing was exported. Fix these first: %(problems)s")
                % {"problems": " ".join(roster.problems)}
            )
        if not roster.rows:
            raise CEError(
                _("There is no row to report: every valid licensee was reported already.")
                if roster.reported
                else _("There is no valid row to export.")
            )
        content = rosters.ce_broker_xls(roster)
        batch = CEBrokerBatch.objects.create(
            event=event,
            body=body,
            exported_by=actor if getattr(actor, "is_authenticated", False) else None,
            includes_reported=include_reported,
            xls=content,
        )
        CEBrokerReportedRow.objects.bulk_create(
            CEBrokerReportedRow(
                batch=batch,
                certificate=row.certificate,
                registration_id=row.certificate.registration_id,
                license_number=row.license_number,
                hours=row.hours,
            )
            for row in roster.rows
        )
        audit.record(
            "certification.roster.ce_broker_exported",
            event,
            actor=actor,
            after={
                "body": body.short_name,
                "batch": batch.pk,
                "rows": len(roster.rows),
                "certificates": [row.certificate.code for row in roster.rows],
                "refused": len(roster.refused),
                "includes_reported": include_reported,
            },
        )
        return batch, content
