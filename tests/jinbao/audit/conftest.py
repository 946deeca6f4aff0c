from tests.jinbao.register.conftest import hub  # noqa: F401 - the register's publishing fixture
