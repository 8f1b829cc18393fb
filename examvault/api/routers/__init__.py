"""One router per capability; `ROUTERS` is what the app mounts under /api/v1."""

from examvault.api.routers import bank, custody, system

ROUTERS = [system.router, bank.router, custody.router]
