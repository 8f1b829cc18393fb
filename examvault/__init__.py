"""examvault — a secure item bank and paper-assembly service for 职业技能等级认定."""

__version__ = "0.1.0"
