"""(being written)"""

from typing import Any


def install(app: Any, page: Any, render: Any, attempt: Any, back: Any) -> None:
    pass
