"""The hub dictionary, the partners' schemas, the register's authority, the store's tables
(store_tables.py) and their migrations.

Installed as `jinbao.schemas` (setup.py `package_dir`), as every top-level folder of this
repository is: import it as `jinbao.schemas`, never as `schemas`, so that nothing as generic as
`schemas` lands at the top of site-packages and a checkout and an installed hub import one and the
same module (tests/test_layout.py refuses a bare import).
"""
