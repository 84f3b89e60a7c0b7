from . import models
from . import controllers
from . import reports
from . import wizards
