"""Time for Yizhan: calendars, rules, rotations, plans, deadlines, feeds and jobs.

``scheduling`` knows time only (no database, no HTTP). Import from the
modules, each named after its concept:

- ``calendar``: working days, holidays and 调休, admin entries, year status
- ``recurrence``: a programme's rule and its RFC 5545 RRULE form
- ``occurrences``: a rule's sessions after the holiday policy
- ``rotation``: who is on duty
- ``planner``: sessions ahead as a diff against what is stored
- ``bookings``: room overlaps
- ``deadlines``: reply deadlines in working days, supervision (督办)
- ``feeds``: RFC 5545 calendar feeds
- ``jobs``: APScheduler jobs around sessions
- ``clock``, ``errors``: the clock type and instant helpers; domain errors
"""
