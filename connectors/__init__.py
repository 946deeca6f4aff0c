"""Transports: how a partner's deliveries reach the hub and its answers go back (a local folder, SFTP,
the front-end database), each behind `Transport` (base.py), and what every entry of an inbound/
folder is (names.py).

Installed as `jinbao.connectors` (setup.py `package_dir`), as every top-level folder of this
repository is: import it as `jinbao.connectors`, never as `connectors`, so that nothing as generic as
`connectors` lands at the top of site-packages and a checkout and an installed hub import one and the
same module (tests/test_layout.py refuses a bare import).
"""
