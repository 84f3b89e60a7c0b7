from . import main
from . import analysis
