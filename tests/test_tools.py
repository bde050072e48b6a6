"""``tests.tools``: a missing tool is a skip locally and a failure under CI."""

from __future__ import annotations

import pytest

from tests.tools import require_module, require_tool


def test_require_tool_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule itself: the same missing tool is a skip without CI and a failure with it."""
    absent = "harmonysim-no-such-tool"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=absent):
        require_tool(absent)
    for value in ("true", "1"):
        monkeypatch.setenv("CI", value)
        with pytest.raises(pytest.fail.Exception, match="under CI"):
            require_tool(absent)
        with pytest.raises(pytest.fail.Exception, match="under CI"):
            require_module("harmonysim_no_such_module")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception):
        require_module("harmonysim_no_such_module")
    assert require_tool("sh").endswith("sh")
