"""Runs inside the generated Alliance Auth site, as ``manage.py shell`` would: ``python site_script.py CMD``.

The test process can't load the site's settings (pytest may have configured Django for other
tests), so what needs the site's Django and Celery app runs here, in a child process started with
``DJANGO_SETTINGS_MODULE=<site>.settings.local`` and the site directory as working directory.
Each command reads a JSON object from stdin and prints one JSON object on stdout's last line.

- ``populate``: the users, group and notification the test browses, AA's analytics token
  pointed at a test measurement id, and a logged-in session for the normal user.
- ``send_tasks``: ``.delay()`` real AA tasks through the Redis broker and wait for their results.
- ``expected_stats``: what AA's own ``analytics_daily_stats`` would send, and AA's
  ``AnalyticsIdentifier``.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def populate(args: dict[str, Any]) -> dict[str, Any]:
    from allianceauth.analytics.models import AnalyticsTokens
    from allianceauth.notifications.models import Notification
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client

    admin = User.objects.create_superuser(
        username=args["admin_name"], email=args["admin_email"], password=args["admin_password"]
    )
    # AA's signals treat a user saved with a pk as an existing one: the canary id (a raw path
    # value that must not leak) comes from SQLite's AUTOINCREMENT counter instead.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s",
                       [args["user_pk"] - 1, User._meta.db_table])
    user = User.objects.create_user(
        username=args["user_name"], email=args["user_email"], password=args["user_password"]
    )
    group = Group.objects.create(pk=args["group_pk"], name=args["group_name"])
    user.groups.add(group)
    notification = Notification.objects.create(
        pk=args["notification_pk"], user=user, title=args["notification_title"],
        message=args["notification_title"], level=Notification.Level.INFO,
    )
    # AA's migration preloads the AA team's GA4 token; a test must never send with it, so it is
    # re-pointed at a test measurement id (and opted in to the daily stats, as an admin would).
    updated = AnalyticsTokens.objects.filter(type="GA-V4").update(
        token=args["aa_token_id"], secret=args["aa_token_secret"], send_stats=True
    )
    # A logged-in session, stored by the site's own session engine (cached_db: the shared
    # database and Redis), so gunicorn's workers accept its cookie.
    client = Client()
    client.force_login(user)
    from django.conf import settings

    return {
        "admin_pk": admin.pk,
        "user_pk": user.pk,
        "group_pk": group.pk,
        "notification_pk": notification.pk,
        "aa_tokens_updated": updated,
        "session_cookie_name": settings.SESSION_COOKIE_NAME,
        "session_key": client.cookies[settings.SESSION_COOKIE_NAME].value,
    }


def send_tasks(args: dict[str, Any]) -> dict[str, Any]:
    from allianceauth.authentication.tasks import check_all_character_ownership
    from allianceauth.groupmanagement.tasks import remove_users_not_matching_states_from_group

    # Runs offline: it queues a check per character ownership, and there are none.
    ok = check_all_character_ownership.delay()
    # Fails in the task (Group.DoesNotExist): a task failure, with an argument that must not leak.
    failing = remove_users_not_matching_states_from_group.delay(args["missing_group_pk"])
    timeout = args["timeout"]
    ok.get(timeout=timeout, propagate=False)
    failing.get(timeout=timeout, propagate=False)
    return {"ok": ok.state, "failing": failing.state, "failing_exc": type(failing.result).__name__}


def expected_stats(args: dict[str, Any]) -> dict[str, Any]:
    """Run AA's own ``analytics_daily_stats`` with its ``analytics_event`` recorded, not sent."""
    from allianceauth.analytics import tasks
    from allianceauth.analytics.models import AnalyticsIdentifier

    recorded: list[dict[str, Any]] = []

    def record(namespace: str, task: str, label: str = "", result: str = "", value: int = 1,
               event_type: str = "Celery") -> None:
        recorded.append({"namespace": namespace, "task": task, "label": label, "value": value})

    tasks.analytics_event = record  # the module global the task calls; this process only
    tasks.analytics_daily_stats()
    # Read only: get_solo() would create the row (a fresh AA 5 install has none until then).
    row = AnalyticsIdentifier.objects.order_by("pk").first()
    return {
        "events": recorded,
        "identifier_hex": row.identifier.hex if row else None,
        "identifier_str": str(row.identifier) if row else None,
    }


COMMANDS = {"populate": populate, "send_tasks": send_tasks, "expected_stats": expected_stats}


def main() -> None:
    import django

    command = COMMANDS[sys.argv[1]]
    args = json.loads(sys.stdin.read() or "{}")
    django.setup()
    result = command(args)
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
