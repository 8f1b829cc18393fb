"""Users, roles, the permission matrix and the audit trail."""

from examvault.accounts.models import AuditEvent, User, UserRole
from examvault.accounts.roles import PERMISSIONS, ROLES, allowed
from examvault.accounts.service import add_user, audit, get_user, list_audit, list_users, require

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "AuditEvent",
    "User",
    "UserRole",
    "add_user",
    "allowed",
    "audit",
    "get_user",
    "list_audit",
    "list_users",
    "require",
]
