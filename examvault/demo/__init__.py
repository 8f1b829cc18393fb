"""`examvault demo`: a realistic 电工 (6-31-01-03) bank, built through the real import paths.

The sample items live in `data/` as JSON in the import template. The demo writes
them out as the files a custodian would bring — an xlsx outline, items as xlsx,
csv, json and 国标 Word — imports them, takes them through review, and then runs
each later stage of the system that exists.
"""

from examvault.demo.run import run_demo

__all__ = ["run_demo"]
