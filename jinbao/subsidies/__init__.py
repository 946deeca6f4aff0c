"""Resident medical insurance subsidies (前个人后财政): lines, payments, claims' input, reports.

The person pays first and is insured at once; the province, the city and the
county each owe a subsidy that follows.  The hub keeps one *line* per enrolment
and level (`subsidy_line`), owed by the person's household-registration
division as the register holds it, never by the unit the person enrolled
through; finance's payments flip lines from arrears to paid, and whatever
does not match a line goes back to finance as a failed record.

  standards.py  the yearly standards (schemas/subsidy_standards.yaml, exact decimals)
  lines.py      computing lines for the people a publish touched; in_arrears for claims (marked by jinbao/outbound/claims.py)
  payments.py   finance's payments against the lines: judged (rejections) and settled (publish)
  hooks.py      the check after judging and the work inside the publish transaction, registered by name
  summary.py, commands.py   `jinbao subsidies summary --year Y`
"""
