"""Real faults (killed processes, a terminated PostgreSQL backend, a full disk, a dropped or stalled
sshd, concurrent runs) against the real servers, each followed by the hub's accounting invariants
(tests/faults/invariants.py)."""
