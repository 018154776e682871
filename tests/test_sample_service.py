"""A service outside the package: its own migrations, tables and queries, under the same
guarantees, configured with one ini option (``tests/sample_service``)."""

import shutil
from pathlib import Path

import pytest

from tenantdb.testing import Server

SAMPLE_SERVICE = Path(__file__).resolve().parent / "sample_service"


def test_the_sample_service_tests_its_isolation_with_the_plugin(
    pytester: pytest.Pytester, tenantdb_server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENANTDB_TEST_DSN", tenantdb_server.url)  # reuse this run's server
    monkeypatch.delenv("TENANTDB_MIGRATIONS", raising=False)  # the ini option alone
    shutil.copytree(SAMPLE_SERVICE, pytester.path, dirs_exist_ok=True)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)
