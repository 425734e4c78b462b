"""``manage.py`` with otel-aa's code start: ``otel_aa.configure()`` first, as in a site's wsgi.py."""

import sys

if __name__ == "__main__":
    import otel_aa

    otel_aa.configure()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *sys.argv[1:]])
