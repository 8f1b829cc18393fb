"""One router per capability; `ROUTERS` is what the app mounts under /api/v1."""

from examvault.api.routers import bank, custody, exams, marking, stats, system

ROUTERS = [system.router, bank.router, custody.router, exams.router, marking.router, stats.router]
