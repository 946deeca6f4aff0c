"""The exchange zone (一站二区): reading staged deliveries, the CMS envelope and signed manifest,
receipts to partners, quarantine, and the errors that refuse a delivery.

Installed as `jinbao.exchange_zone` (setup.py `package_dir`), as every top-level folder of this
repository is: import it as `jinbao.exchange_zone`, never as `exchange_zone`, so that nothing as generic as
`exchange_zone` lands at the top of site-packages and a checkout and an installed hub import one and the
same module (tests/test_layout.py refuses a bare import).
"""
