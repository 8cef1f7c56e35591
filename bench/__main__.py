"""python -m bench [contacts] [calendar] [webhooks] [instagram] [sms] [--rebuild]"""

from __future__ import annotations

import sys

from bench.common import use_bench_database


def main() -> int:
    args = sys.argv[1:]
    suites = [a for a in args if not a.startswith("--")] or ["contacts"]
    use_bench_database()
    import django

    django.setup()
    for suite in suites:
        if suite == "contacts":
            from bench import contacts

            contacts.run(rebuild="--rebuild" in args)
        elif suite == "calendar":
            from bench import calendar

            calendar.run()
        elif suite == "instagram":
            from bench import instagram

            instagram.run()
        elif suite == "webhooks":
            from bench import webhooks

            webhooks.run()
        elif suite == "sms":
            from bench import sms

            sms.run()
        else:
            print(f"unknown suite {suite!r}")  # noqa: T201
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
