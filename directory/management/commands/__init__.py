"""createcompany, createmanager, linkaad, demoseed."""
