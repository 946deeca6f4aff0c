"""The quality gate: rules per hub type, the record verdict (一票否决), judging a delivery, the
Great Expectations suites and the quality page.

Installed as `jinbao.quality` (setup.py `package_dir`), as every top-level folder of this
repository is: import it as `jinbao.quality`, never as `quality`, so that nothing as generic as
`quality` lands at the top of site-packages and a checkout and an installed hub import one and the
same module (tests/test_layout.py refuses a bare import).
"""
