"""Versioned field and code maps (data in feeds/ and codes/), reference lists, and the translator
between a partner's names and codes and the hub's.

Installed as `jinbao.mappings` (setup.py `package_dir`), as every top-level folder of this
repository is: import it as `jinbao.mappings`, never as `mappings`, so that nothing as generic as
`mappings` lands at the top of site-packages and a checkout and an installed hub import one and the
same module (tests/test_layout.py refuses a bare import).
"""
