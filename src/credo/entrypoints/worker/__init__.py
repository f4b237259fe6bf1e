"""`credo worker`: every kind of background work, in any number of processes on any number
of machines sharing one database (runner.Worker)."""
