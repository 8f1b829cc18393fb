"""Import every model module so `Base.metadata` describes the whole schema."""

from examvault.accounts import models as _accounts  # noqa: F401
from examvault.assembly import models as _assembly  # noqa: F401
from examvault.crypto import models as _crypto  # noqa: F401
from examvault.custody import models as _custody  # noqa: F401
from examvault.db import Base
from examvault.export import models as _export  # noqa: F401
from examvault.itembank import models as _itembank  # noqa: F401
from examvault.quality import models as _quality  # noqa: F401
from examvault.registration import models as _registration  # noqa: F401
from examvault.scoring import models as _scoring  # noqa: F401
from examvault.staff import models as _staff  # noqa: F401
from examvault.stats import models as _stats  # noqa: F401

metadata = Base.metadata
