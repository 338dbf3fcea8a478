"""liftwatch: ranks a fleet of elevators by the risk of leaving residents stranded."""

__version__ = "0.1.0"
