"""One contract test over every flow the plugin registers (``check_flow``), and its coverage."""

from __future__ import annotations

import pytest
from dgmcore_flows import plugin
from flow_cases import CASES, FlowCase

from dgmcore.testing import check_flow


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_flow_meets_the_contract(case: FlowCase) -> None:
    x, context = case.data()
    report = check_flow(case.factory(), x, context, factory=case.factory)
    assert "jacobian" in report.passed and "errors" in report.passed


def test_every_registered_flow_is_in_the_table() -> None:
    covered = {type(case.factory()) for case in CASES}
    missing = [cls.__name__ for cls in plugin.register_flows() if cls not in covered]
    assert not missing, f"flows without a case in flow_cases.py: {missing}"
